import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import { ownedOrNotFound, ownerFilter, type Principal, User } from '../../auth/public';
import { ClusterRegistry } from '../../clusters/public';
import { StorageConfig } from '../storage.config';
import { isUniqueViolation } from '../../infra/database/database-errors';
import { onlyRow } from '../../infra/database/only-row';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import { QueueService } from '../../infra/queue/queue.service';
import { STORAGE_PROVIDER, type StorageProvider } from '../providers/storage-provider';
import { Snapshot } from '../snapshots/snapshot.entity';
import { StorageErrorCode } from '../storage.errors';
import { requestSnapshot } from '../snapshots/request-snapshot';
import { DELETE_VOLUME_QUEUE, type DeleteVolumeJob } from '../storage-queues';
import { diskTags } from '../volumes/disk-volumes';
import { Disk } from './disk.entity';
import { diskInUse } from './hold-disk';
import type {
  AdoptDiskDto,
  CreateDiskDto,
  DiskDto,
  DiskStatus,
  ListDisksQueryDto,
  RestoreDiskDto,
  SnapshotDto,
} from './dto/disk.dto';
import { DISK_HOLDERS, type DiskHolders } from '../ports';

const DAY_MS = 24 * 3600_000;

/** What a disk view needs beyond the row: names, the holder's status, its snapshots in brief. */
interface DiskFacts {
  owner: string;
  /** Its holder has not ended (absent: no holder, or one that is gone). */
  holderLive?: boolean;
  snapshotCount: number;
  lastSnapshotAt?: Date;
}

/**
 * Named disks as their owners (and admins) ask for them: made (their volume comes at first use),
 * listed, renamed, snapshotted, restored, soft-deleted; another user's answer 404. A reservation
 * takes one with `DiskHolds` (hold-disk.ts).
 */
@Injectable()
export class DisksService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: StorageConfig,
    private readonly jobs: QueueService,
    private readonly registry: ClusterRegistry,
    @Inject(STORAGE_PROVIDER) private readonly provider: StorageProvider,
    @Inject(DISK_HOLDERS) private readonly holders: DiskHolders,
  ) {}

  async list(principal: Principal, query: ListDisksQueryDto): Promise<DiskDto[]> {
    const owner = ownerFilter(principal, { allUsers: query.user === 'all' });
    const rows = this.dataSource
      .getRepository(Disk)
      .createQueryBuilder('d')
      .orderBy('d.name', 'ASC')
      .addOrderBy('d.created_at', 'DESC');
    if ('userId' in owner) {
      rows.andWhere('d.owner_id = :owner', { owner: owner.userId });
    }
    if (query.deleted !== 'true') {
      rows.andWhere('d.deleted_at IS NULL');
    }
    const disks = await rows.getMany();
    const facts = await this.factsOf(disks);
    return disks.map((disk) => this.view(disk, facts.get(disk.id)!));
  }

  async create(principal: Principal, request: CreateDiskDto): Promise<DiskDto> {
    const sizeGb = request.size_gb ?? this.config.ODC_DISK_DEFAULT_SIZE_GB;
    this.assertSize(sizeGb);
    const disk = await this.dataSource.transaction(async (tx) => {
      await this.assertWithinDiskLimit(tx, principal.userId, sizeGb);
      return this.insert(tx, { ownerId: principal.userId, name: request.name, sizeGb });
    });
    return this.view(disk, { owner: principal.username, snapshotCount: 0 });
  }

  /**
   * Admins: an existing volume (aws-ebs: an EBS volume the platform ODC replaces attached directly)
   * becomes a user's disk — checked free, tagged as the disk's, its size and zone recorded. Its data
   * has no snapshot yet, so it stays in its zone until its first end-of-use snapshot.
   */
  async adopt(principal: Principal, request: AdoptDiskDto): Promise<DiskDto> {
    const adoptVolume = this.provider.adoptVolume?.bind(this.provider);
    if (!adoptVolume) {
      throw new AppError(
        StorageErrorCode.StorageRejected,
        `The ${this.provider.name} storage provider does not adopt existing volumes`,
      );
    }
    const ownerId = await this.ownerIdFor(principal, request.owner);
    const adopted = await this.dataSource.transaction(async (tx) => {
      // It counts as one of the owner's disks; its size is what it is (an admin brings existing data).
      await this.assertWithinDiskLimit(tx, ownerId, 0);
      const disk = await this.insert(tx, { ownerId, name: request.name, sizeGb: 1 });
      // The unique index on the volume: of two adoptions of one volume at once, the second fails here.
      await this.claimVolume(tx, disk.id, request.volume_id);
      const volume = await adoptVolume(request.volume_id, diskTags(disk));
      await tx.getRepository(Disk).update(
        { id: disk.id },
        {
          volumeId: volume.volumeId,
          zone: volume.zone ?? null,
          sizeGb: volume.sizeGb,
          usedSinceSnapshot: true,
        },
      );
      return tx.getRepository(Disk).findOneByOrFail({ id: disk.id });
    });
    return this.view(adopted, (await this.factsOf([adopted])).get(adopted.id)!);
  }

  async get(principal: Principal, name: string, ownerName?: string): Promise<DiskDto> {
    const disk = await this.byName(principal, name, ownerName);
    return this.view(disk, (await this.factsOf([disk])).get(disk.id)!);
  }

  /**
   * Soft delete: the name is free at once; the volume and snapshots stay for the grace period
   * (ODC_DISK_DELETE_GRACE_DAYS), then the storage cron purges them. A disk written to since its
   * last snapshot gets one first (reason pre-delete). Refused while a reservation holds it.
   */
  async delete(principal: Principal, name: string, ownerName?: string): Promise<DiskDto> {
    const found = await this.byName(principal, name, ownerName);
    const deleted = await this.dataSource.transaction(async (tx) => {
      const disk = await this.lockedFree(tx, found.id);
      const now = new Date();
      if (disk.volumeId && disk.usedSinceSnapshot) {
        await requestSnapshot(tx, this.jobs, disk, 'pre-delete');
      }
      await tx.getRepository(Disk).update(
        { id: disk.id },
        {
          status: 'deleted',
          deletedAt: now,
          purgeAfter: new Date(now.getTime() + this.config.ODC_DISK_DELETE_GRACE_DAYS * DAY_MS),
          version: disk.version + 1,
        },
      );
      return tx.getRepository(Disk).findOneByOrFail({ id: disk.id });
    });
    return this.view(deleted, (await this.factsOf([deleted])).get(deleted.id)!);
  }

  /**
   * A deleted disk back, while its grace lasts (the purge only starts after it, so the two never
   * overlap): the newest deleted disk of that name, under that name again.
   */
  async undelete(principal: Principal, name: string, ownerName?: string): Promise<DiskDto> {
    const ownerId = await this.ownerIdFor(principal, ownerName);
    await this.dataSource.transaction(async (tx) => {
      const disk = await tx.getRepository(Disk).findOne({
        where: { ownerId, name, status: 'deleted' },
        order: { deletedAt: 'DESC' },
        lock: { mode: 'pessimistic_write' },
      });
      if (!disk) {
        throw new AppError(CommonErrorCode.NotFound, `No deleted disk ${name} in its grace period`);
      }
      await this.assertWithinDiskLimit(tx, ownerId, disk.sizeGb);
      try {
        const back = await tx
          .createQueryBuilder()
          .update(Disk)
          .set({ status: 'ready', deletedAt: null, purgeAfter: null, version: () => 'version + 1' })
          .where('id = :id AND status = :deleted AND purge_after > now()', {
            id: disk.id,
            deleted: 'deleted',
          })
          .execute();
        if (back.affected !== 1) {
          throw new AppError(StorageErrorCode.InvalidDiskState, `Disk ${name}'s grace period is over`);
        }
      } catch (error) {
        throw this.nameTakenOr(error, name);
      }
    });
    return this.get(principal, name, ownerName);
  }

  async rename(principal: Principal, name: string, newName: string, ownerName?: string): Promise<DiskDto> {
    const disk = await this.byName(principal, name, ownerName);
    if (newName !== disk.name) {
      try {
        await this.dataSource
          .getRepository(Disk)
          .update({ id: disk.id, deletedAt: IsNull() }, { name: newName, version: disk.version + 1 });
      } catch (error) {
        throw this.nameTakenOr(error, newName);
      }
    }
    return this.get(principal, newName, ownerName);
  }

  async listSnapshots(principal: Principal, name: string, ownerName?: string): Promise<SnapshotDto[]> {
    const disk = await this.byName(principal, name, ownerName);
    const snapshots = await this.dataSource
      .getRepository(Snapshot)
      .find({ where: { diskId: disk.id }, order: { createdAt: 'DESC' } });
    return snapshots.map((snapshot) => this.snapshotView(snapshot, disk));
  }

  /** A snapshot now (202: it is taken in the background); the disk may be in use (crash-consistent). */
  async createSnapshot(principal: Principal, name: string, ownerName?: string): Promise<SnapshotDto> {
    const found = await this.byName(principal, name, ownerName);
    const snapshot = await this.dataSource.transaction(async (tx) => {
      const disk = await this.locked(tx, found.id);
      if (!disk.volumeId) {
        throw new AppError(
          StorageErrorCode.InvalidDiskState,
          `Disk ${disk.name} has no volume now (never used, or restored and not used since): nothing to snapshot`,
        );
      }
      return requestSnapshot(tx, this.jobs, disk, 'manual');
    });
    return this.snapshotView(snapshot, found);
  }

  /**
   * From a ready snapshot of this disk: into a new disk (`new_name`), or the disk itself back to it
   * (it must be free; its current volume is deleted). Either way the volume is made from the
   * snapshot when a reservation next uses the disk, where that reservation runs.
   */
  async restore(
    principal: Principal,
    name: string,
    request: RestoreDiskDto,
    ownerName?: string,
  ): Promise<DiskDto> {
    const disk = await this.byName(principal, name, ownerName);
    const snapshot = await this.dataSource
      .getRepository(Snapshot)
      .findOneBy({ id: request.snapshot_id, diskId: disk.id });
    if (!snapshot) {
      throw new AppError(
        CommonErrorCode.NotFound,
        `Disk ${disk.name} has no snapshot ${request.snapshot_id}`,
      );
    }
    if (snapshot.status !== 'ready') {
      throw new AppError(StorageErrorCode.SnapshotNotReady, `Snapshot ${snapshot.id} is ${snapshot.status}`, {
        status: snapshot.status,
      });
    }
    const restored = await this.dataSource.transaction(async (tx) => {
      // Locked (shared) and read again: retention deleting it meanwhile makes this a 409, not a
      // disk restoring from nothing (cleanup.worker.ts takes the same row's lock to delete).
      const chosen = await tx
        .getRepository(Snapshot)
        .findOne({ where: { id: snapshot.id }, lock: { mode: 'pessimistic_read' } });
      if (chosen?.status !== 'ready' || chosen.deletedAt) {
        throw new AppError(
          StorageErrorCode.SnapshotNotReady,
          `Snapshot ${snapshot.id} is ${chosen?.status ?? 'gone'}`,
        );
      }
      if (request.new_name !== undefined) {
        await this.assertWithinDiskLimit(tx, disk.ownerId, Math.max(disk.sizeGb, snapshot.sizeGb ?? 0));
        return this.insert(tx, {
          ownerId: disk.ownerId,
          name: request.new_name,
          sizeGb: Math.max(disk.sizeGb, snapshot.sizeGb ?? 0),
          restoreFrom: snapshot.id,
        });
      }
      const current = await this.lockedFree(tx, disk.id);
      // What it wrote since its last snapshot is kept as one more before its volume goes.
      const keep =
        current.volumeId && current.usedSinceSnapshot && current.status === 'ready'
          ? await requestSnapshot(tx, this.jobs, current, 'pre-restore')
          : undefined;
      await this.retireVolume(tx, current, keep);
      await tx.getRepository(Disk).update(
        { id: current.id },
        {
          restoreFrom: snapshot.id,
          sizeGb: Math.max(current.sizeGb, snapshot.sizeGb ?? 0),
          status: current.status === 'lost' ? 'ready' : current.status,
          usedSinceSnapshot: false,
          version: current.version + 1,
        },
      );
      return tx.getRepository(Disk).findOneByOrFail({ id: current.id });
    });
    return this.view(restored, (await this.factsOf([restored])).get(restored.id)!);
  }

  /**
   * Admins: frees a disk whose holder has ended but which was never released (a release that keeps
   * failing). A live holder keeps it: cancel that reservation instead.
   */
  async unlock(principal: Principal, name: string, ownerName?: string): Promise<DiskDto> {
    const found = await this.byName(principal, name, ownerName);
    await this.dataSource.transaction(async (tx) => {
      const disk = await this.locked(tx, found.id);
      if (!disk.inUseBy) {
        return;
      }
      const holder = await this.holders.get(disk.inUseBy, tx);
      if (holder?.live) {
        throw new AppError(
          StorageErrorCode.DiskInUse,
          `Disk ${disk.name} is held by reservation ${holder.id}, which is ${holder.status}: cancel it instead`,
          { reservation_id: holder.id },
        );
      }
      await tx.getRepository(Disk).update(
        { id: disk.id },
        // Whatever its holder wrote has no snapshot: the next delete or restore keeps it first.
        {
          inUseBy: null,
          claimName: null,
          attachedClusterId: null,
          usedSinceSnapshot: true,
          version: disk.version + 1,
        },
      );
    });
    return this.get(principal, name, ownerName);
  }

  private async claimVolume(tx: EntityManager, diskId: string, volumeId: string): Promise<void> {
    try {
      await tx.getRepository(Disk).update({ id: diskId }, { volumeId });
    } catch (error) {
      throw isUniqueViolation(error)
        ? new AppError(StorageErrorCode.InvalidDiskState, `Volume ${volumeId} is already a disk`)
        : error;
    }
  }

  /**
   * Its volume, if any, is deleted in the background (the disk no longer points at it) — once
   * `after`, a snapshot of it, is ready; never if that snapshot fails.
   */
  private async retireVolume(tx: EntityManager, disk: Disk, after?: Snapshot): Promise<void> {
    if (!disk.volumeId) {
      return;
    }
    const job: DeleteVolumeJob = {
      disk_id: disk.id,
      volume_id: disk.volumeId,
      ...(disk.volumeClusterId ? { cluster_id: disk.volumeClusterId } : {}),
      ...(after ? { after_snapshot_id: after.id } : {}),
    };
    await this.jobs.send(DELETE_VOLUME_QUEUE, job, { manager: tx });
    await tx
      .getRepository(Disk)
      .update(
        { id: disk.id },
        { volumeId: null, volumeClusterId: null, zone: null, claimName: null, attachedClusterId: null },
      );
  }

  private async insert(
    tx: EntityManager,
    fields: Pick<Disk, 'ownerId' | 'name' | 'sizeGb'> & Partial<Pick<Disk, 'restoreFrom'>>,
  ): Promise<Disk> {
    try {
      return await tx
        .getRepository(Disk)
        .save(tx.getRepository(Disk).create({ ...fields, provider: this.provider.name }));
    } catch (error) {
      throw this.nameTakenOr(error, fields.name);
    }
  }

  private nameTakenOr(error: unknown, name: string): unknown {
    return isUniqueViolation(error)
      ? new AppError(StorageErrorCode.DiskNameTaken, `You already have a disk named ${name}`)
      : error;
  }

  private assertSize(sizeGb: number): void {
    if (sizeGb > this.config.ODC_DISK_MAX_SIZE_GB) {
      throw new AppError(
        CommonErrorCode.ValidationFailed,
        `size_gb must be at most ${this.config.ODC_DISK_MAX_SIZE_GB}`,
        { fields: [{ field: 'size_gb', problems: [`at most ${this.config.ODC_DISK_MAX_SIZE_GB}`] }] },
      );
    }
  }

  /**
   * One more disk of `addGb` within the owner's limits (disks, and GB across them), counted under a
   * per-owner row lock (their user row), so two creates at once cannot both pass.
   */
  private async assertWithinDiskLimit(tx: EntityManager, ownerId: string, addGb: number): Promise<void> {
    await tx.getRepository(User).findOne({ where: { id: ownerId }, lock: { mode: 'pessimistic_write' } });
    const rows = await tx.query<{ live: number; gb: number }[]>(
      `SELECT count(*)::int AS live, coalesce(sum(size_gb), 0)::int AS gb FROM disks
       WHERE owner_id = $1 AND deleted_at IS NULL`,
      [ownerId],
    );
    const { live, gb } = onlyRow(rows, 'counting disks');
    const { ODC_MAX_DISKS_PER_USER: maxDisks, ODC_MAX_DISK_GB_PER_USER: maxGb } = this.config;
    if (live >= maxDisks || gb + addGb > maxGb) {
      throw new AppError(
        StorageErrorCode.DiskQuotaExceeded,
        live >= maxDisks
          ? `At most ${maxDisks} disks per user; delete one first`
          : `At most ${maxGb} GB of disks per user; this would make ${gb + addGb}`,
        { max_disks: maxDisks, max_gb: maxGb },
      );
    }
  }

  /**
   * The disk of that name: the caller's, or (admins naming `owner`) that user's; 404 otherwise,
   * as for a disk that does not exist.
   */
  async byName(principal: Principal, name: string, ownerName?: string): Promise<Disk> {
    const ownerId = await this.ownerIdFor(principal, ownerName);
    const disk = await this.dataSource.getRepository(Disk).findOneBy({ ownerId, name, deletedAt: IsNull() });
    return ownedOrNotFound(disk, principal, `No disk ${name}`, { adminMay: true });
  }

  private async ownerIdFor(principal: Principal, ownerName?: string): Promise<string> {
    if (ownerName === undefined || ownerName === principal.username) {
      return principal.userId;
    }
    if (!principal.admin) {
      throw new AppError(CommonErrorCode.Forbidden, "Only admins can act on another user's disks");
    }
    const owner = await this.dataSource.getRepository(User).findOneBy({ username: ownerName });
    if (!owner) {
      throw new AppError(CommonErrorCode.NotFound, `No user ${ownerName}`);
    }
    return owner.id;
  }

  private async locked(tx: EntityManager, id: string): Promise<Disk> {
    const disk = await tx.getRepository(Disk).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!disk || disk.deletedAt) {
      throw new AppError(CommonErrorCode.NotFound, `No disk ${id}`);
    }
    return disk;
  }

  /** Locked, and held by no reservation (409 otherwise). */
  private async lockedFree(tx: EntityManager, id: string): Promise<Disk> {
    const disk = await this.locked(tx, id);
    if (disk.inUseBy) {
      throw diskInUse(disk, await this.holders.get(disk.inUseBy, tx));
    }
    return disk;
  }

  private async factsOf(disks: Disk[]): Promise<Map<string, DiskFacts>> {
    if (disks.length === 0) {
      return new Map();
    }
    const rows = await this.dataSource.query<
      {
        id: string;
        owner: string;
        snapshots: number;
        last_snapshot_at: Date | null;
      }[]
    >(
      `SELECT d.id, u.username AS owner,
              (SELECT count(*)::int FROM snapshots s WHERE s.disk_id = d.id AND s.status <> 'deleted') AS snapshots,
              (SELECT max(s.ready_at) FROM snapshots s WHERE s.disk_id = d.id AND s.status = 'ready') AS last_snapshot_at
       FROM disks d JOIN users u ON u.id = d.owner_id
       WHERE d.id = ANY($1)`,
      [disks.map((disk) => disk.id)],
    );
    const holders = await this.holders.getMany(disks.flatMap((disk) => disk.inUseBy ?? []));
    const holderOf = new Map(
      disks.map((disk) => [disk.id, disk.inUseBy ? holders.get(disk.inUseBy) : undefined]),
    );
    return new Map(
      rows.map((row) => [
        row.id,
        {
          owner: row.owner,
          ...(holderOf.get(row.id) ? { holderLive: holderOf.get(row.id)!.live } : {}),
          snapshotCount: row.snapshots,
          ...(row.last_snapshot_at ? { lastSnapshotAt: row.last_snapshot_at } : {}),
        },
      ]),
    );
  }

  private view(disk: Disk, facts: DiskFacts): DiskDto {
    const clusterId = disk.volumeClusterId ?? disk.attachedClusterId;
    const cluster = clusterId ? this.registry.get(clusterId)?.name : undefined;
    return {
      id: disk.id,
      name: disk.name,
      owner: facts.owner,
      size_gb: disk.sizeGb,
      provider: disk.provider,
      status: statusOf(disk, facts.holderLive),
      ...(disk.inUseBy ? { in_use_by: disk.inUseBy } : {}),
      ...(cluster ? { cluster } : {}),
      ...(disk.zone ? { zone: disk.zone } : {}),
      has_volume: disk.volumeId !== null,
      ...(disk.restoreFrom ? { restore_from: disk.restoreFrom } : {}),
      snapshot_count: facts.snapshotCount,
      ...(facts.lastSnapshotAt ? { last_snapshot_at: facts.lastSnapshotAt.toISOString() } : {}),
      ...(disk.lastUsedAt ? { last_used_at: disk.lastUsedAt.toISOString() } : {}),
      created_at: disk.createdAt.toISOString(),
      ...(disk.deletedAt ? { deleted_at: disk.deletedAt.toISOString() } : {}),
      ...(disk.purgeAfter ? { purge_after: disk.purgeAfter.toISOString() } : {}),
      ...(disk.lastError ? { last_error: disk.lastError } : {}),
    };
  }

  private snapshotView(snapshot: Snapshot, disk: Disk): SnapshotDto {
    const cluster = snapshot.clusterId ? this.registry.get(snapshot.clusterId)?.name : undefined;
    return {
      id: snapshot.id,
      disk: disk.name,
      status: snapshot.status,
      reason: snapshot.reason,
      ...(snapshot.reservationId ? { reservation_id: snapshot.reservationId } : {}),
      ...(snapshot.sizeGb !== null ? { size_gb: snapshot.sizeGb } : {}),
      ...(cluster ? { cluster } : {}),
      ...(snapshot.error ? { error: snapshot.error } : {}),
      created_at: snapshot.createdAt.toISOString(),
      ...(snapshot.readyAt ? { ready_at: snapshot.readyAt.toISOString() } : {}),
    };
  }
}

function statusOf(disk: Disk, holderLive: boolean | undefined): DiskStatus {
  if (disk.status === 'purged' && disk.volumeId !== null) {
    return 'deleted'; // being purged: its data is not gone yet
  }
  if (disk.status !== 'ready') {
    return disk.status;
  }
  if (!disk.inUseBy) {
    return 'free';
  }
  return holderLive ? 'in_use' : 'releasing';
}
