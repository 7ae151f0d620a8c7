import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { ClustersConfig } from '../clusters.config';
import { Clock } from '../../infra/time/clock';
import { scheduleInterval } from '../../infra/time/scheduled-interval';
import { Cluster } from '../cluster.entity';

/** The channel the `clusters_notify` trigger writes to: `{"op": "INSERT|UPDATE|DELETE", "id": …}`. */
export const CLUSTERS_CHANNEL = 'odc_clusters';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export interface RegistryChange {
  id: string;
  /** What the replica did: the cluster is new or changed, or gone. */
  kind: 'upserted' | 'removed';
  /** Its connection (URL, certificates, key, token) changed: its client was dropped. */
  connectionChanged: boolean;
}

interface Entry {
  cluster: Cluster;
  connection: string;
  content: string;
}

/** The poll timer's name in the SchedulerRegistry. */
const REGISTRY_POLL_TIMER = 'cluster-registry-poll';

/**
 * Every coordinator/worker/cron replica's view of the registered clusters, in memory. A change
 * reaches it through LISTEN/NOTIFY within milliseconds (a dedicated connection, reconnected with
 * backoff, with a full reload after each reconnect since notifications may have been missed),
 * through polling every ODC_REGISTRY_POLL_SECONDS on the app's clock as the fallback, and through
 * `reload()` (the admin endpoint). The reconnect backoff waits on the network, so in real time.
 * Only a cluster whose connection changed loses its cached per-cluster state (e.g. its HTTP
 * client): `onChange` listeners are told which.
 */
@Injectable()
export class ClusterRegistry implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ClusterRegistry');
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(change: RegistryChange) => void>();
  private listener?: Client;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer?: NodeJS.Timeout;
  private stopPolling?: () => void;
  private closed = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ClustersConfig,
    private readonly schedules: SchedulerRegistry,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A replica whose database is not migrated yet still boots (alive, not ready); polling loads it later.
    await this.reload().catch((error: unknown) =>
      this.logger.warn(`registry could not be loaded yet: ${String(error)}`),
    );
    await this.listen();
    this.stopPolling = scheduleInterval(
      this.clock,
      this.schedules,
      REGISTRY_POLL_TIMER,
      this.config.ODC_REGISTRY_POLL_SECONDS * 1000,
      () =>
        this.reload().catch((error: unknown) => this.logger.warn(`registry poll failed: ${String(error)}`)),
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.stopPolling?.();
    clearTimeout(this.reconnectTimer);
    await this.listener?.end().catch(() => undefined);
  }

  all(): Cluster[] {
    return [...this.entries.values()].map((entry) => entry.cluster);
  }

  get(id: string): Cluster | undefined {
    return this.entries.get(id)?.cluster;
  }

  /** Told of every change this replica applies (after it is applied). */
  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads every cluster; applies only what differs from what this replica holds. */
  async reload(): Promise<number> {
    const rows = await this.dataSource.getRepository(Cluster).find();
    const seen = new Set(rows.map((row) => row.id));
    for (const id of [...this.entries.keys()].filter((known) => !seen.has(known))) {
      this.remove(id);
    }
    for (const row of rows) {
      this.upsert(row);
    }
    return rows.length;
  }

  /** Reads one cluster again (a notification named it). */
  async reloadOne(id: string): Promise<void> {
    const row = await this.dataSource.getRepository(Cluster).findOneBy({ id });
    if (row) {
      this.upsert(row);
    } else {
      this.remove(id);
    }
  }

  private upsert(row: Cluster): void {
    const known = this.entries.get(row.id);
    // The row's content, not updated_at: that is microseconds in PostgreSQL but milliseconds here,
    // so two changes within one millisecond would look like one.
    const content = JSON.stringify(row);
    if (known?.content === content) {
      return;
    }
    const connection = connectionFingerprint(row);
    this.entries.set(row.id, { cluster: row, connection, content });
    this.emit({ id: row.id, kind: 'upserted', connectionChanged: known?.connection !== connection });
  }

  private remove(id: string): void {
    if (this.entries.delete(id)) {
      this.emit({ id, kind: 'removed', connectionChanged: true });
    }
  }

  private emit(change: RegistryChange): void {
    for (const listener of this.listeners) {
      listener(change);
    }
  }

  private async listen(): Promise<void> {
    const options = this.dataSource.options as PostgresDataSourceOptions;
    const client = new Client({ connectionString: options.url, application_name: 'odc:registry-listener' });
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => this.logger.warn(`registry listener connection failed: ${error.message}`));
    client.on('end', () => this.scheduleReconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CLUSTERS_CHANNEL}`);
      this.listener = client;
      this.reconnectDelay = RECONNECT_MIN_MS;
    } catch (error) {
      this.logger.warn(`registry listener could not connect: ${String(error)}`);
      await client.end().catch(() => undefined);
      this.scheduleReconnect(client);
    }
  }

  /** Backoff from 100 ms to 5 s; a reload afterwards catches what was missed meanwhile. */
  private scheduleReconnect(client: Client): void {
    if (this.closed || this.reconnectTimer || (this.listener && this.listener !== client)) {
      return;
    }
    this.listener = undefined;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.listen()
        .then(() => (this.listener ? this.reload() : undefined))
        .catch((error: unknown) =>
          this.logger.warn(`registry reload after reconnect failed: ${String(error)}`),
        );
    }, delay);
    this.reconnectTimer.unref();
  }

  private onNotification(payload: string | undefined): void {
    let id: unknown;
    try {
      ({ id } = JSON.parse(payload ?? '') as { id?: unknown });
    } catch {
      id = undefined;
    }
    const change = typeof id === 'string' ? this.reloadOne(id) : this.reload();
    change.catch((error: unknown) => this.logger.warn(`registry reload failed: ${String(error)}`));
  }
}

/** What a cluster's HTTP client is built from; when it changes, the client must be rebuilt. */
function connectionFingerprint(cluster: Cluster): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        cluster.deployerUrl,
        cluster.mtlsEnabled,
        cluster.caCert,
        cluster.clientCert,
        cluster.clientKeyEncrypted?.toString('base64') ?? null,
        cluster.tokenEncrypted?.toString('base64') ?? null,
      ]),
    )
    .digest('base64');
}
