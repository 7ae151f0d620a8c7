import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { standingOf, foreignGpus, DEFAULT_NODE_PORTS, ClusterRegistry } from '../../clusters/public';
import { ReservationsConfig } from '../reservations.config';
import {
  diskPlacement,
  type DiskPlacement,
  STORAGE_PROVIDER,
  type StorageProvider,
  providerSnapshotOf,
  type SnapshotRow,
} from '../../storage/public';
import { CLAIMING_STATUSES, type Reservation, type ReservationStatus } from '../reservation.entity';
import { Planner } from './planner';
import type { Claim, NodeState, QueuedRequest, Schedule } from './schedule';

const MINUTE = 60_000;

export interface SchedulingState {
  now: Date;
  nodes: NodeState[];
  claims: Claim[];
  queued: QueuedRequest[];
  usage: Map<string, number>;
  /** NodePorts each accepting cluster has left: its profile's `node_ports` less what ODC's hold. */
  slots: Map<string, number>;
}

/** A reservation's Service takes a NodePort for SSH, and one more for Jupyter. */
export function nodePortsOf(reservation: { jupyter: boolean }): number {
  return reservation.jupyter ? 2 : 1;
}

/** Teardown of an ending reservation, as the planner expects it to take. */
const TEARDOWN_ALLOWANCE_MS = MINUTE;

/**
 * When a reservation holding GPUs is expected to let them go: not yet active, its full duration
 * from now; active, its expiry plus the grace period; past that (or ending), once teardown is done.
 * Never in the past: GPUs are free only once the reservation has ended.
 */
export function claimUntil(
  reservation: Pick<Reservation, 'expiresAt' | 'status' | 'durationMinutes' | 'extendedMinutes'>,
  now: Date,
  graceMs: number,
): Date {
  if (!reservation.expiresAt) {
    return new Date(now.getTime() + (reservation.durationMinutes + reservation.extendedMinutes) * MINUTE);
  }
  const earliest = now.getTime() + TEARDOWN_ALLOWANCE_MS;
  const expected = reservation.status === 'ending' ? earliest : reservation.expiresAt.getTime() + graceMs;
  return new Date(Math.max(expected, earliest));
}

interface CapacityRow {
  cluster_id: string;
  node_name: string;
  gpu_type: string;
  allocatable_gpus: number;
  used_gpus: number;
  managed_gpus: number;
  labels: Record<string, string>;
  zone: string | null;
}

interface HoldingRow {
  owner_id: string;
  jupyter: boolean;
  gpu_count: number;
  cluster_id: string | null;
  node_name: string | null;
  status: ReservationStatus;
  expires_at: Date | null;
  duration_minutes: number;
  extended_minutes: number;
}

interface QueuedRow {
  id: string;
  owner_id: string;
  gpu_type: string;
  gpu_count: number;
  duration_minutes: number;
  extended_minutes: number;
  priority: number;
  jupyter: boolean;
  created_at: Date;
  refused_by: string[];
  node_labels: Record<string, string> | null;
  disk_id: string | null;
}

/** A queued reservation's disk, as placement reads it. */
interface DiskRow {
  reservation_id: string;
  volume_id: string | null;
  volume_cluster_id: string | null;
  zone: string | null;
  used_since_snapshot: boolean;
  restore_from: SnapshotRow | null;
  latest_ready: SnapshotRow | null;
}

function queuedRequestOf(row: QueuedRow, disk: DiskPlacement | undefined): QueuedRequest {
  return {
    id: row.id,
    ownerId: row.owner_id,
    gpuType: row.gpu_type,
    gpuCount: row.gpu_count,
    durationMs: (row.duration_minutes + row.extended_minutes) * MINUTE,
    priority: row.priority,
    createdAt: row.created_at,
    avoidClusters: row.refused_by,
    nodePorts: nodePortsOf(row),
    ...(row.node_labels ? { nodeLabels: row.node_labels } : {}),
    ...(disk ? { disk } : {}),
  };
}

const SNAPSHOT_JSON = `json_build_object('id', s.id, 'provider_snapshot_id', s.provider_snapshot_id,
  'cluster_id', s.cluster_id, 'volume_id', s.volume_id, 'status', s.status, 'size_gb', s.size_gb,
  'portable_handle', s.portable_handle, 'driver', s.driver)`;

/**
 * The database's view as the scheduler's input: nodes of accepting clusters (GPUs of pods ODC does
 * not manage are not ODC's to give), the GPUs ODC's reservations hold, the queue, and each owner's
 * GPUs in use.
 */
@Injectable()
export class SchedulingStateReader {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly config: ReservationsConfig,
    @Inject(STORAGE_PROVIDER) private readonly storage: StorageProvider,
    private readonly planner: Planner,
  ) {}

  /**
   * Read with plain SQL, only the columns planning needs: a plan is made on every admission pass,
   * so building entities for every node and reservation each time would be most of its cost. The
   * queue first: with no one in it, the fleet is not read (the state has no nodes or claims).
   */
  private async read(
    manager: EntityManager = this.dataSource.manager,
    now = new Date(),
  ): Promise<SchedulingState> {
    const queued = await manager.query<QueuedRow[]>(
      `SELECT id, owner_id, gpu_type, gpu_count, duration_minutes, extended_minutes, priority, jupyter,
              created_at, refused_by::text[] AS refused_by, node_labels, disk_id
       FROM reservations WHERE status = 'queued'`,
    );
    if (queued.length === 0) {
      // Most passes below saturation: every reservation's end asks for one in case someone waits.
      return { now, nodes: [], claims: [], queued: [], usage: new Map(), slots: new Map() };
    }
    const [rows, holding] = await Promise.all([
      manager.query<CapacityRow[]>(
        `SELECT cluster_id, node_name, gpu_type, allocatable_gpus, used_gpus, managed_gpus, labels, zone
         FROM capacity WHERE gpu_type IS NOT NULL AND ready AND schedulable`,
      ),
      manager.query<HoldingRow[]>(
        `SELECT owner_id, jupyter, gpu_count, cluster_id, node_name, status, expires_at, duration_minutes,
                extended_minutes
         FROM reservations WHERE status = ANY($1)`,
        [[...CLAIMING_STATUSES]],
      ),
    ]);
    const disks = queued.some((row) => row.disk_id)
      ? await this.queuedDisks(manager)
      : new Map<string, DiskPlacement>();
    const nodes: NodeState[] = [];
    for (const row of rows) {
      const cluster = this.registry.get(row.cluster_id);
      if (!cluster || !standingOf(cluster).accepting) {
        continue;
      }
      nodes.push({
        clusterId: row.cluster_id,
        nodeName: row.node_name,
        gpuType: row.gpu_type,
        allocatable: row.allocatable_gpus,
        foreign: foreignGpus({ usedGpus: row.used_gpus, managedGpus: row.managed_gpus }),
        clusterPriority: cluster.priority,
        labels: row.labels,
        ...(row.zone !== null ? { zone: row.zone } : {}),
      });
    }
    const usage = new Map<string, number>();
    const claims: Claim[] = [];
    const slots = new Map(
      this.registry
        .all()
        .filter((cluster) => standingOf(cluster).accepting)
        .map((cluster) => [cluster.id, cluster.profile.node_ports ?? DEFAULT_NODE_PORTS]),
    );
    const graceMs = this.config.ODC_EXPIRY_GRACE_SECONDS * 1000;
    for (const row of holding) {
      usage.set(row.owner_id, (usage.get(row.owner_id) ?? 0) + row.gpu_count);
      if (row.cluster_id && slots.has(row.cluster_id)) {
        slots.set(row.cluster_id, slots.get(row.cluster_id)! - nodePortsOf(row));
      }
      if (row.cluster_id && row.node_name) {
        claims.push({
          clusterId: row.cluster_id,
          nodeName: row.node_name,
          gpus: row.gpu_count,
          until: claimUntil(
            {
              expiresAt: row.expires_at,
              status: row.status,
              durationMinutes: row.duration_minutes,
              extendedMinutes: row.extended_minutes,
            },
            now,
            graceMs,
          ),
        });
      }
    }
    return {
      now,
      nodes,
      claims,
      queued: queued.map((row) => queuedRequestOf(row, disks.get(row.id))),
      usage,
      slots,
    };
  }

  /** Where each queued reservation's disk lets it run (absent: anywhere). */
  private async queuedDisks(manager: EntityManager): Promise<Map<string, DiskPlacement>> {
    const rows = await manager.query<DiskRow[]>(
      `SELECT r.id AS reservation_id, d.volume_id, d.volume_cluster_id, d.zone, d.used_since_snapshot,
              (SELECT ${SNAPSHOT_JSON} FROM snapshots s WHERE s.id = d.restore_from) AS restore_from,
              (SELECT ${SNAPSHOT_JSON} FROM snapshots s WHERE s.disk_id = d.id AND s.status = 'ready'
               ORDER BY s.created_at DESC LIMIT 1) AS latest_ready
       FROM reservations r JOIN disks d ON d.id = r.disk_id
       WHERE r.status = 'queued'`,
    );
    const accepting = this.registry
      .all()
      .filter((cluster) => standingOf(cluster).accepting)
      .map((cluster) => cluster.id);
    const restorableIn = this.storage.restorableIn.bind(this.storage);
    const placements = new Map<string, DiskPlacement>();
    for (const row of rows) {
      const placement = diskPlacement(
        {
          volumeId: row.volume_id,
          volumeClusterId: row.volume_cluster_id,
          zone: row.zone,
          usedSinceSnapshot: row.used_since_snapshot,
          ...(row.restore_from ? { restoreFrom: providerSnapshotOf(row.restore_from) } : {}),
          ...(row.latest_ready ? { latestReady: providerSnapshotOf(row.latest_ready) } : {}),
        },
        accepting,
        restorableIn,
        this.config.ODC_DISK_RESTORE_ELSEWHERE,
      );
      if (placement) {
        placements.set(row.reservation_id, placement);
      }
    }
    return placements;
  }

  /** A plan of the state as it is now, made off the event loop (see Planner). */
  async plan(manager?: EntityManager, now?: Date): Promise<Schedule> {
    const state = await this.read(manager, now);
    return state.queued.length === 0
      ? { admit: [], waiting: [], unplaceable: [], order: [] }
      : this.planner.plan(state);
  }
}
