import { randomBytes } from 'node:crypto';
import type { DataSource, DeepPartial, EntityManager, ObjectLiteral } from 'typeorm';
import { User } from '../../src/auth/users/user.entity';
import { Cluster } from '../../src/clusters/cluster.entity';
import { NodeCapacityRow } from '../../src/clusters/node-capacity.entity';
import { Reservation, type ReservationStatus } from '../../src/reservations/reservation.entity';
import { Disk } from '../../src/storage/disks/disk.entity';
import { Snapshot } from '../../src/storage/snapshots/snapshot.entity';

/**
 * Rows as the code leaves them, written straight to the database: each factory fills what a test
 * doesn't care about with values the schema and the code accept, and writes what it is given over
 * them. A row another one needs (a reservation's owner) is made when not given.
 */
type Db = DataSource | EntityManager;

const MINUTE_MS = 60_000;

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

async function insert<T extends ObjectLiteral>(
  db: Db,
  entity: new () => T,
  row: NoInfer<DeepPartial<T>>,
): Promise<T> {
  const repository = db.getRepository(entity);
  return repository.save<T>(repository.create(row));
}

export function aUser(db: Db, overrides: DeepPartial<User> = {}): Promise<User> {
  return insert(db, User, { username: unique('user'), ...overrides });
}

/** A registered, healthy cluster (no deployer behind it). */
export function aCluster(db: Db, overrides: DeepPartial<Cluster> = {}): Promise<Cluster> {
  return insert(db, Cluster, {
    name: unique('cluster'),
    deployerUrl: 'http://127.0.0.1:9',
    status: 'healthy',
    ...overrides,
  });
}

/** A ready, schedulable node of a cluster as a capacity sync leaves it: 8 H100s, none used. */
export function aNode(
  db: Db,
  overrides: DeepPartial<NodeCapacityRow> & { clusterId: string },
): Promise<NodeCapacityRow> {
  return insert(db, NodeCapacityRow, {
    nodeName: unique('node'),
    gpuType: 'h100',
    allocatableGpus: 8,
    usedGpus: 0,
    managedGpus: 0,
    ready: true,
    schedulable: true,
    seenAt: new Date(),
    ...overrides,
  });
}

/** What a reservation in this status has that a queued one has not (times relative to `now`). */
function statusFields(
  status: ReservationStatus,
  durationMinutes: number,
  now: Date,
): DeepPartial<Reservation> {
  switch (status) {
    case 'active':
    case 'ending':
      return {
        startedAt: now,
        expiresAt: new Date(now.getTime() + durationMinutes * MINUTE_MS),
        sshCommand: 'ssh dev@127.0.0.1 -p 30022',
      };
    case 'expired':
    case 'cancelled':
    case 'failed':
      return { endedAt: now, endingAs: null };
    case 'queued':
    case 'placing':
    case 'provisioning':
      return {};
  }
}

/**
 * A reservation: queued for 1 H100 for an hour unless told otherwise; its owner is made when not
 * given. Active ones started now and expire after their duration.
 */
export async function aReservation(
  db: Db,
  overrides: DeepPartial<Reservation> & { now?: Date } = {},
): Promise<Reservation> {
  const { now = new Date(), ...row } = overrides;
  const status = (row.status ?? 'queued') as ReservationStatus;
  const durationMinutes = row.durationMinutes ?? 60;
  return insert(db, Reservation, {
    ownerId: row.ownerId ?? (await aUser(db)).id,
    gpuType: 'h100',
    gpuCount: 1,
    durationMinutes,
    externalId: `odc-${randomBytes(6).toString('hex')}`,
    ...statusFields(status, durationMinutes, now),
    ...row,
    status,
  });
}

/** A user's disk: 100 GB on k8s-csi, ready and free; its owner is made when not given. */
export async function aDisk(db: Db, overrides: DeepPartial<Disk> = {}): Promise<Disk> {
  return insert(db, Disk, {
    ownerId: overrides.ownerId ?? (await aUser(db)).id,
    name: unique('disk'),
    sizeGb: 100,
    provider: 'k8s-csi',
    status: 'ready',
    ...overrides,
  });
}

/** A ready manual snapshot of a disk's volume, with the disk's owner. */
export function aSnapshot(db: Db, disk: Disk, overrides: DeepPartial<Snapshot> = {}): Promise<Snapshot> {
  return insert(db, Snapshot, {
    diskId: disk.id,
    ownerId: disk.ownerId,
    reason: 'manual',
    status: 'ready',
    volumeId: disk.volumeId ?? unique('vol'),
    providerSnapshotId: unique('snap'),
    clusterId: disk.volumeClusterId,
    sizeGb: disk.sizeGb,
    readyAt: new Date(),
    ...overrides,
  });
}
