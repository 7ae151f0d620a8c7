import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { ClustersConfig } from '../clusters.config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import type { Cluster } from '../cluster.entity';
import { ClusterRegistry } from '../registry/cluster-registry';
import { clusterSecretContext, SecretBox } from '../secrets/secret-box';
import {
  DeployerClient,
  deployerClientSettings,
  type DeployerClientSettings,
  type DeployerEndpoint,
} from './deployer-client';

/**
 * Where and how to reach a cluster's deployer, its secrets decrypted (kept in memory only). The
 * client certificate is presented when mTLS is on.
 */
export function endpointOf(cluster: Cluster, secretBox: SecretBox): DeployerEndpoint {
  return {
    clusterId: cluster.id,
    name: cluster.name,
    url: cluster.deployerUrl,
    ...(cluster.caCert ? { caCert: cluster.caCert } : {}),
    ...(cluster.mtlsEnabled && cluster.clientCert && cluster.clientKeyEncrypted
      ? {
          clientCert: cluster.clientCert,
          clientKey: secretBox.decrypt(
            cluster.clientKeyEncrypted,
            clusterSecretContext(cluster.id, 'client_key'),
          ),
        }
      : {}),
    ...(cluster.tokenEncrypted
      ? { token: secretBox.decrypt(cluster.tokenEncrypted, clusterSecretContext(cluster.id, 'token')) }
      : {}),
  };
}

/**
 * One deployer client per registered cluster, built on first use from the registry and kept (its
 * connection pool, its circuit breaker) until the cluster's connection changes or it is removed.
 */
@Injectable()
export class ClusterClients implements OnModuleInit, OnModuleDestroy {
  readonly settings: DeployerClientSettings;
  private readonly clients = new Map<string, DeployerClient>();
  private unsubscribe?: () => void;

  private readonly calls: Histogram<'cluster' | 'operation' | 'outcome'>;

  constructor(
    private readonly registry: ClusterRegistry,
    private readonly secretBox: SecretBox,
    config: ClustersConfig,
    metrics: MetricsService,
  ) {
    this.settings = deployerClientSettings(config);
    this.calls = new Histogram({
      name: 'odc_deployer_request_duration_seconds',
      help: "Calls to clusters' deployers, retries included, by cluster, operation and outcome",
      labelNames: ['cluster', 'operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    this.unsubscribe = this.registry.onChange((change) => {
      if (change.connectionChanged) {
        this.drop(change.id);
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }

  /** The cluster's client; 404 for a cluster this replica does not know. */
  for(clusterId: string): DeployerClient {
    const known = this.clients.get(clusterId);
    if (known) {
      return known;
    }
    const cluster = this.registry.get(clusterId);
    if (!cluster) {
      throw new AppError(CommonErrorCode.NotFound, `No cluster ${clusterId}`);
    }
    const client = new DeployerClient(endpointOf(cluster, this.secretBox), this.settings, {
      observe: ({ seconds, ...labels }) => this.calls.observe(labels, seconds),
    });
    this.clients.set(clusterId, client);
    return client;
  }

  /** A client for a connection not (yet) in the registry, e.g. to test it before saving; close it after. */
  transient(cluster: Cluster): DeployerClient {
    return new DeployerClient(endpointOf(cluster, this.secretBox), this.settings);
  }

  private drop(clusterId: string): void {
    const client = this.clients.get(clusterId);
    this.clients.delete(clusterId);
    void client?.close().catch(() => undefined);
  }
}
