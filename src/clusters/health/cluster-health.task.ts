import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ClustersConfig } from '../clusters.config';
import { ExclusiveTaskRunner } from '../../infra/cron/exclusive-task.runner';
import { PeriodicTask } from '../../infra/cron/periodic-task';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { CapacitySync } from '../capacity/capacity-sync';
import { Cluster } from '../cluster.entity';
import { ClusterClients } from '../client/cluster-clients';
import type { DeployerClient, DeployerProbe } from '../client/deployer-client';
import { ClusterRegistry } from '../registry/cluster-registry';
import { registerClusterGauges } from './cluster-metrics';

export const HEALTH_TASK = 'clusters.health';

/** Capacity rows of a cluster that missed this many checks in a row are dropped: unknown is not free. */
const STALE_AFTER_CHECKS = 3;

export interface ClusterCheck {
  cluster: string;
  status: DeployerProbe['status'];
  /** Nodes synced from a healthy cluster; undefined when not synced. */
  nodes?: number;
  error?: string;
}

/**
 * Cron (exactly once across replicas): every ODC_CLUSTER_HEALTH_INTERVAL_SECONDS, all enabled
 * clusters are probed in parallel; each one's status, check time and last error are stored, and a
 * healthy one's node report is copied into the capacity rows.
 */
@Injectable()
export class ClusterHealthTask extends PeriodicTask {
  private readonly logger = new Logger('ClusterHealth');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly clients: ClusterClients,
    private readonly capacity: CapacitySync,
    runner: ExclusiveTaskRunner,
    metrics: MetricsService,
    config: ClustersConfig,
  ) {
    // At start too: a fresh replica (or a development start) shows capacity without waiting a period.
    super(runner, HEALTH_TASK, config.ODC_CLUSTER_HEALTH_INTERVAL_SECONDS * 1000, { runAtStart: true });
    registerClusterGauges(metrics.registry, registry, capacity);
  }

  protected runRound(): Promise<ClusterCheck[]> {
    return this.checkAll();
  }

  /** One round: every enabled cluster in parallel, then stale capacity dropped. */
  async checkAll(): Promise<ClusterCheck[]> {
    const clusters = this.registry.all().filter((cluster) => cluster.enabled);
    const checks = await Promise.all(clusters.map((cluster) => this.check(cluster)));
    await this.capacity.expire(new Date(this.clock.nowMs() - STALE_AFTER_CHECKS * this.periodMs));
    return checks;
  }

  private async check(cluster: Cluster): Promise<ClusterCheck> {
    let client: DeployerClient;
    try {
      client = this.clients.for(cluster.id);
    } catch (unusable) {
      // Its key or token cannot be decrypted (SecretUnreadable): our credentials, as good as refused.
      return this.record(cluster, { status: 'auth_failed', error: String((unusable as Error).message) });
    }
    const probe = await client.probe();
    let nodes: number | undefined;
    let error = probe.error;
    if (probe.status === 'healthy') {
      try {
        nodes = await this.capacity.sync(cluster, client, this.clock.now());
      } catch (syncError) {
        error = `capacity sync failed: ${syncError instanceof Error ? syncError.message : String(syncError)}`;
        this.logger.warn({ cluster: cluster.name }, error);
      }
    }
    return this.record(cluster, { status: probe.status, ...(error ? { error } : {}) }, nodes);
  }

  private async record(cluster: Cluster, probe: DeployerProbe, nodes?: number): Promise<ClusterCheck> {
    await this.dataSource.getRepository(Cluster).update(cluster.id, {
      status: probe.status,
      lastHealthCheck: this.clock.now(),
      lastError: probe.error ?? null,
    });
    // This replica sees it at once (the others within milliseconds, through NOTIFY).
    await this.registry.reloadOne(cluster.id);
    if (probe.status !== cluster.status) {
      this.logger.log(
        { cluster: cluster.name, from: cluster.status, to: probe.status, error: probe.error },
        'cluster health changed',
      );
    }
    return {
      cluster: cluster.name,
      status: probe.status,
      ...(nodes !== undefined ? { nodes } : {}),
      ...(probe.error ? { error: probe.error } : {}),
    };
  }
}
