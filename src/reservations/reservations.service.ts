import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { Brackets, DataSource, In, type EntityManager } from 'typeorm';
import { canonicalJson } from '../audit/canonical-json';
import { ownedOrNotFound, ownerFilter } from '../auth/ownership';
import type { Principal } from '../auth/principal';
import { User } from '../auth/users/user.entity';
import { FOREIGN_GPUS_SQL } from '../clusters/capacity/node-rules';
import { standingOf } from '../clusters/capacity/availability';
import { ClusterRegistry } from '../clusters/registry/cluster-registry';
import { SharedRead } from '../infra/cache/shared-read';
import { AppConfig } from '../infra/config/env';
import { LOCK_NAMESPACE } from '../infra/database/advisory-locks';
import { isUniqueViolation } from '../infra/database/database-errors';
import { queryPrepared, sqlTextList } from '../infra/database/prepared';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { DiskHolds } from '../storage/disks/hold-disk';
import { Disk } from '../storage/disks/disk.entity';
import { QueueService } from '../infra/queue/queue.service';
import { GpuType } from './catalog/gpu-type.entity';
import {
  RESERVATION_PAGE_DEFAULT,
  type CreateReservationDto,
  type ListReservationsQueryDto,
} from './dto/reservation.dto';
import type { QueueDto, QueueEntryDto } from './dto/queue.dto';
import { ReservationEvent } from './reservation-event.entity';
import { hoursOf } from './reservation-view';
import { ReservationErrorCode } from './reservation.errors';
import { LIVE_STATUSES, Reservation, type ReservationStatus } from './reservation.entity';
import { lockReservation, recordEvent, reservationOf } from './reservation-transitions';
import { REAPPLY_QUEUE, requestAdmission } from './reservation-queues';
import { endReservation } from './lifecycle/ending';
import {
  newStandingSql,
  type NewReservation,
  type Reach,
  type SqlParameter,
} from './scheduling/queue-standings';

const MIN_MINUTES = 5;
const MAX_SECONDARY_USERS = 8;
/** What a user may still change: not over, and not ending. */
const CHANGEABLE_STATUSES: readonly ReservationStatus[] = ['queued', 'placing', 'provisioning', 'active'];

/** A queued reservation as the queue shows it. */
interface QueueEntryRow {
  id: string;
  owner_id: string;
  gpu_type: string;
  gpu_count: number;
  duration_minutes: number;
  extended_minutes: number;
  created_at: Date;
  queue_position: number | null;
  estimated_start: Date | null;
  username: string;
}

/** A head entry, with its type's queue length and latest estimated start. */
type QueueHeadRow = QueueEntryRow & { length: number; latest: Date | null };

const QUEUE_COLUMNS = `r.id, r.owner_id, r.gpu_type, r.gpu_count, r.duration_minutes, r.extended_minutes,
                       r.created_at, r.queue_position, r.estimated_start, u.username`;
const QUEUE_ORDER = 'r.queue_position NULLS LAST, r.created_at, r.id';

/** The nodes a new reservation may use: its type, accepting clusters, labels and its disk's pin. */
interface NodeReach {
  gpuType: string;
  clusters: string[];
  labels: Record<string, string>;
  clusterId: string | null;
  zone: string | null;
}

/** Over those nodes: how many, how many have the labels, and the most GPUs one of those offers. */
interface NodeFigures {
  nodes: number;
  labelled: number;
  largest: number;
}

/** Where a disk that cannot move keeps its reservations: its volume's cluster and zone. */
interface DiskPin {
  clusterId?: string;
  zone?: string;
}

export interface ReservationWithContext {
  reservation: Reservation;
  owner: string;
  cluster?: string;
  disk?: string;
  events?: ReservationEvent[];
}

/** What a change does besides, in its own transaction (the caller's audit record): it commits with the change. */
export type InTransaction = (tx: EntityManager, reservation: Reservation) => Promise<void>;

/**
 * Reservations as their owners (and admins) ask for them: checked against the catalog and the
 * limits, inserted with a request for an admission pass in one transaction, listed and shown with their
 * queue standing; another user's answer 404.
 */
@Injectable()
export class ReservationsService {
  /** Each type's head of the queue, with its length and longest wait: the same for every caller. */
  private readonly queueHeads: SharedRead<QueueHeadRow[], number>;
  /** The enabled GPU types, which every reserve checks its request against. */
  private readonly enabledTypes: SharedRead<GpuType[], 'enabled'>;
  /** What the nodes a request may use offer at most (keyed by its reach): see assertSomeNodeCanHold. */
  private readonly nodeFigures: SharedRead<NodeFigures, string>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly jobs: QueueService,
    private readonly registry: ClusterRegistry,
    private readonly diskHolds: DiskHolds,
  ) {
    const maxAgeMs = config.ODC_SHARED_READS_MAX_AGE_SECONDS * 1000;
    this.queueHeads = new SharedRead((head) => this.readQueueHeads(head), maxAgeMs);
    this.enabledTypes = new SharedRead(
      () => dataSource.getRepository(GpuType).find({ where: { enabled: true }, order: { name: 'ASC' } }),
      maxAgeMs,
    );
    this.nodeFigures = new SharedRead(
      (reach) => this.readNodeFigures(JSON.parse(reach) as NodeReach),
      maxAgeMs,
    );
  }

  /**
   * A new reservation, queued, with a request for an admission pass; or, for an Idempotency-Key already used
   * with the same request, the reservation it made (`created: false`). `withContext` makes the answer.
   */
  async create(
    principal: Principal,
    request: CreateReservationDto,
    idempotencyKey?: string,
    alongWith?: InTransaction,
  ): Promise<{ reservation: Reservation; created: boolean }> {
    const fingerprint = createHash('sha256').update(canonicalJson(request)).digest('hex');
    if (idempotencyKey !== undefined) {
      const earlier = await this.byIdempotencyKey(principal.userId, idempotencyKey, fingerprint);
      if (earlier) {
        return { reservation: earlier, created: false };
      }
    }
    if (request.no_persist && request.disk === undefined) {
      throw new AppError(
        CommonErrorCode.ValidationFailed,
        'no_persist applies to a disk: name one with disk',
        {
          fields: [{ field: 'no_persist', problems: ['needs disk'] }],
        },
      );
    }
    const type = await this.checkedType(request);
    const durationMinutes = this.checkedMinutes(request, type);
    const pin = request.disk !== undefined ? await this.diskPin(principal.userId, request.disk) : undefined;
    await this.assertSomeNodeCanHold(type, request, pin);
    const fields = {
      gpuType: type.name,
      gpuCount: request.gpu_count,
      priority: 0,
      nodeLabels: request.node_labels ?? null,
    };
    let reservation: Reservation;
    try {
      reservation = await this.dataSource.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          LOCK_NAMESPACE.userReservations,
          principal.userId,
        ]);
        // After the user's lock, one statement (one round trip): their limits, the standing, the row
        // and its first event. The admission request is sent after the commit.
        const [row] = await queryPrepared<Record<string, unknown>>(
          tx,
          ...this.insertWithinLimits(principal.userId, request, fields, {
            durationMinutes,
            idempotencyKey,
            fingerprint,
            reach: {
              clusters: this.registry
                .all()
                .filter((cluster) => standingOf(cluster).accepting)
                .map((cluster) => cluster.id),
              ...pin,
            },
          }),
        );
        if (row.id === null) {
          throw this.limitReached(request, {
            gpus: Number(row.held_gpus),
            ofType: Number(row.held_of_type),
            queued: Number(row.held_queued),
          });
        }
        const inserted = reservationOf(tx, row);
        await requestAdmission(tx, this.jobs);
        if (request.disk !== undefined) {
          const disk = await this.diskHolds.hold(
            tx,
            principal.userId,
            request.disk,
            inserted.id,
            this.config.ODC_STORAGE_PROVIDER,
          );
          await tx.getRepository(Reservation).update({ id: inserted.id }, { diskId: disk.id });
          inserted.diskId = disk.id;
        }
        await alongWith?.(tx, inserted);
        return inserted;
      });
    } catch (error) {
      // The same key sent twice at once: the other request made it.
      if (idempotencyKey !== undefined && isUniqueViolation(error)) {
        const earlier = await this.byIdempotencyKey(principal.userId, idempotencyKey, fingerprint);
        if (earlier) {
          return { reservation: earlier, created: false };
        }
      }
      throw error;
    }
    return { reservation, created: true };
  }

  /** The caller's reservations (an admin's `user=all`: everyone's), newest first, a page at a time. */
  async list(
    principal: Principal,
    query: ListReservationsQueryDto,
  ): Promise<{ items: ReservationWithContext[]; next?: string }> {
    const owner = ownerFilter(principal, { allUsers: query.user === 'all' });
    const limit = query.limit ?? RESERVATION_PAGE_DEFAULT;
    const rows = this.dataSource
      .getRepository(Reservation)
      .createQueryBuilder('r')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit + 1);
    if ('userId' in owner) {
      rows.andWhere('r.owner_id = :owner', { owner: owner.userId });
    }
    if (query.status?.length) {
      rows.andWhere('r.status IN (:...statuses)', { statuses: query.status });
    }
    if (query.cursor) {
      rows.andWhere(
        new Brackets((where) =>
          where.where(
            '(r.created_at, r.id) < (SELECT c.created_at, c.id FROM reservations c WHERE c.id = :cursor)',
            {
              cursor: query.cursor,
            },
          ),
        ),
      );
    }
    const found = await rows.getMany();
    const page = found.slice(0, limit);
    const [owners, disks] = await Promise.all([
      this.usernames(page.map((reservation) => reservation.ownerId)),
      this.diskNames(page),
    ]);
    return {
      items: page.map((reservation) => ({
        reservation,
        owner: owners.get(reservation.ownerId) ?? '',
        ...this.clusterName(reservation),
        ...(reservation.diskId && disks.get(reservation.diskId)
          ? { disk: disks.get(reservation.diskId) }
          : {}),
      })),
      ...(found.length > limit ? { next: page.at(-1)!.id } : {}),
    };
  }

  /** One reservation with its timeline; another user's answers 404 (admins see all). */
  async get(principal: Principal, id: string): Promise<ReservationWithContext> {
    return this.withTimeline(await this.owned(principal, id), principal);
  }

  /** With its events; the owner's name is the caller's own when it is theirs (no read). */
  async withTimeline(reservation: Reservation, principal: Principal): Promise<ReservationWithContext> {
    const own = reservation.ownerId === principal.userId;
    const [events, owners] = await Promise.all([
      this.dataSource
        .getRepository(ReservationEvent)
        .find({ where: { reservationId: reservation.id }, order: { id: 'ASC' } }),
      own ? undefined : this.usernames([reservation.ownerId]),
    ]);
    const owner = own ? principal.username : (owners?.get(reservation.ownerId) ?? '');
    return { ...(await this.withContext(reservation, owner)), events };
  }

  /**
   * Cancels it: a queued one at once; a placed or running one ends through teardown (its objects
   * deleted, then its GPUs freed). One that has ended, or is ending, answers 409. A user's own is
   * checked in the ending statement itself (admins may end anyone's); the row is read only when
   * nothing ended, to tell 404 from 409. Returns the ended row, without its timeline (withTimeline).
   */
  async cancel(principal: Principal, id: string, alongWith?: InTransaction): Promise<Reservation> {
    const ended = await this.dataSource.transaction(async (tx) => {
      const reservation = await endReservation(
        tx,
        this.jobs,
        id,
        'cancelled',
        `cancelled by ${principal.username}`,
        principal.admin ? {} : { ownerId: principal.userId },
      );
      if (reservation) {
        await alongWith?.(tx, reservation);
      }
      return reservation;
    });
    if (!ended) {
      const reservation = await this.owned(principal, id);
      throw new AppError(
        ReservationErrorCode.InvalidState,
        `Reservation ${id} is ${reservation.status}${reservation.status === 'expiring' ? ' (ending already)' : ''}`,
      );
    }
    return ended;
  }

  /**
   * More time, up to ODC_RESERVATION_MAX_LIFETIME_HOURS in all. A running reservation's expiry
   * moves (and its notice file says so); warnings for marks it is now before will come again.
   */
  async extend(
    principal: Principal,
    id: string,
    hours: number,
    alongWith?: InTransaction,
  ): Promise<ReservationWithContext> {
    await this.owned(principal, id);
    const minutes = Math.round(hours * 60);
    if (minutes < MIN_MINUTES) {
      throw new AppError(
        ReservationErrorCode.InvalidDuration,
        `An extension is at least ${MIN_MINUTES} minutes`,
      );
    }
    await this.dataSource.transaction(async (tx) => {
      const reservation = await this.lockedLive(tx, id);
      await alongWith?.(tx, reservation);
      const lifetime = this.config.ODC_RESERVATION_MAX_LIFETIME_HOURS * 60;
      const total = reservation.durationMinutes + reservation.extendedMinutes + minutes;
      if (total > lifetime) {
        const left = lifetime - reservation.durationMinutes - reservation.extendedMinutes;
        throw new AppError(
          ReservationErrorCode.LifetimeExceeded,
          `A reservation lives at most ${this.config.ODC_RESERVATION_MAX_LIFETIME_HOURS} h; this one can be extended by ${hoursOf(Math.max(0, left))} h more`,
          { max_extension_hours: hoursOf(Math.max(0, left)) },
        );
      }
      const expiresAt = reservation.expiresAt
        ? new Date(reservation.expiresAt.getTime() + minutes * 60_000)
        : null;
      const minutesLeft = expiresAt ? (expiresAt.getTime() - Date.now()) / 60_000 : Number.POSITIVE_INFINITY;
      await tx.getRepository(Reservation).update(
        { id },
        {
          extendedMinutes: reservation.extendedMinutes + minutes,
          expiresAt,
          // Marks it is now before again are warned of again when it reaches them.
          warningsSent: reservation.warningsSent.filter((mark) => mark >= minutesLeft),
          version: reservation.version + 1,
        },
      );
      await recordEvent(tx, {
        reservationId: id,
        message: `Extended by ${hoursOf(minutes)} h by ${principal.username}${expiresAt ? `; expires at ${expiresAt.toISOString()}` : ''}`,
      });
      await this.reapplyIfRunning(tx, reservation);
    });
    return this.get(principal, id);
  }

  /** Jupyter on or off; a running reservation gets (or loses) its Ingress and URL. */
  async setJupyter(
    principal: Principal,
    id: string,
    enabled: boolean,
    alongWith?: InTransaction,
  ): Promise<ReservationWithContext> {
    await this.owned(principal, id);
    await this.dataSource.transaction(async (tx) => {
      const reservation = await this.lockedLive(tx, id);
      await alongWith?.(tx, reservation);
      if (reservation.jupyter === enabled) {
        return;
      }
      await tx
        .getRepository(Reservation)
        .update(
          { id },
          { jupyter: enabled, ...(enabled ? {} : { jupyterUrl: null }), version: reservation.version + 1 },
        );
      await recordEvent(tx, {
        reservationId: id,
        message: `Jupyter turned ${enabled ? 'on' : 'off'} by ${principal.username}`,
      });
      await this.reapplyIfRunning(tx, reservation);
    });
    return this.get(principal, id);
  }

  /** Another user gets SSH access too (their keys join the environment's authorized_keys). */
  async addUser(
    principal: Principal,
    id: string,
    username: string,
    alongWith?: InTransaction,
  ): Promise<ReservationWithContext> {
    await this.owned(principal, id);
    const user = await this.dataSource.getRepository(User).findOneBy({ username, disabled: false });
    if (!user) {
      throw new AppError(ReservationErrorCode.UnknownUser, `No user ${username}`);
    }
    await this.dataSource.transaction(async (tx) => {
      const reservation = await this.lockedLive(tx, id);
      await alongWith?.(tx, reservation);
      if (user.id === reservation.ownerId || reservation.secondaryUsers.includes(username)) {
        return;
      }
      if (reservation.secondaryUsers.length >= MAX_SECONDARY_USERS) {
        throw new AppError(
          ReservationErrorCode.InvalidState,
          `A reservation is shared with at most ${MAX_SECONDARY_USERS} users`,
        );
      }
      await tx
        .getRepository(Reservation)
        .update(
          { id },
          { secondaryUsers: [...reservation.secondaryUsers, username], version: reservation.version + 1 },
        );
      await recordEvent(tx, {
        reservationId: id,
        message: `${username} given SSH access by ${principal.username}`,
      });
      await this.reapplyIfRunning(tx, reservation);
    });
    return this.get(principal, id);
  }

  /** The reservation locked for a change; one that has ended (or is ending) answers 409. */
  private async lockedLive(tx: EntityManager, id: string): Promise<Reservation> {
    const reservation = await lockReservation(tx, id);
    if (!reservation || !CHANGEABLE_STATUSES.includes(reservation.status)) {
      throw new AppError(
        ReservationErrorCode.InvalidState,
        `Reservation ${id} is ${reservation?.status ?? 'gone'}: it can no longer be changed`,
      );
    }
    return reservation;
  }

  /** Its objects exist (or are being made): they are applied again with the change. */
  private async reapplyIfRunning(tx: EntityManager, reservation: Reservation): Promise<void> {
    if (reservation.status === 'provisioning' || reservation.status === 'active') {
      await this.jobs.send(REAPPLY_QUEUE, { reservation_id: reservation.id }, { manager: tx });
    }
  }

  /**
   * The queue per GPU type in admission order, with positions and estimated waits as the last
   * admission pass stored them: each type's first `head` entries and the caller's own. Owners and
   * reservation ids show on the caller's own entries (on all, for admins); others' stay anonymous.
   */
  async queue(principal: Principal, head: number): Promise<QueueDto> {
    const [heads, own] = await Promise.all([
      this.queueHeads.get(head),
      this.dataSource.query<QueueEntryRow[]>(
        `SELECT ${QUEUE_COLUMNS} FROM reservations r JOIN users u ON u.id = r.owner_id
         WHERE r.status = 'queued' AND r.owner_id = $1 ORDER BY ${QUEUE_ORDER}`,
        [principal.userId],
      ),
    ]);
    const types = [...new Map(heads.map((row) => [row.gpu_type, row])).values()];
    const now = Date.now();
    const waitOf = (start: Date | null) =>
      start ? { estimated_wait_seconds: Math.max(0, Math.round((start.getTime() - now) / 1000)) } : {};
    const entries = new Map<string, Map<string, QueueEntryDto>>(
      types.map((type) => [type.gpu_type, new Map()]),
    );
    for (const row of [...heads, ...own]) {
      const visible = principal.admin || row.owner_id === principal.userId;
      entries.get(row.gpu_type)?.set(row.id, {
        position: row.queue_position ?? 0,
        ...(visible ? { reservation_id: row.id, owner: row.username } : {}),
        gpu_count: row.gpu_count,
        hours: hoursOf(row.duration_minutes + row.extended_minutes),
        queued_at: row.created_at.toISOString(),
        ...waitOf(row.estimated_start),
      });
    }
    return {
      gpu_types: types.map((type) => ({
        gpu_type: type.gpu_type,
        length: type.length,
        ...(type.latest ? { longest_wait_seconds: waitOf(type.latest).estimated_wait_seconds } : {}),
        // The head, then the caller's own behind it: both read in queue order.
        entries: [...entries.get(type.gpu_type)!.values()],
      })),
    };
  }

  /**
   * The first `head` entries of each type in queue order (as the last admission pass stored it),
   * with the type's length and latest estimated start; at most ODC_SHARED_READS_MAX_AGE_SECONDS old.
   */
  private readQueueHeads(head: number): Promise<QueueHeadRow[]> {
    return this.dataSource.query<QueueHeadRow[]>(
      `WITH types AS (
         SELECT gpu_type, count(*)::int AS length, max(estimated_start) AS latest
         FROM reservations WHERE status = 'queued' GROUP BY gpu_type)
       SELECT t.gpu_type, t.length, t.latest, e.* FROM types t
       CROSS JOIN LATERAL (
         SELECT ${QUEUE_COLUMNS} FROM reservations r JOIN users u ON u.id = r.owner_id
         WHERE r.status = 'queued' AND r.gpu_type = t.gpu_type ORDER BY ${QUEUE_ORDER} LIMIT $1) e
       ORDER BY t.gpu_type, ${QUEUE_ORDER.replaceAll('r.', 'e.')}`,
      [head],
    );
  }

  catalog(): Promise<GpuType[]> {
    return this.enabledTypes.get('enabled');
  }

  /** The reservation, if the caller owns it (admins: any); else 404 as if it did not exist. */
  async owned(principal: Principal, id: string): Promise<Reservation> {
    const reservation = await this.dataSource.getRepository(Reservation).findOneBy({ id });
    return ownedOrNotFound(reservation, principal, `No reservation ${id}`, { adminMay: true });
  }

  /** With its owner's name, its cluster's and its disk's (a queued one's standing is on its row). */
  async withContext(reservation: Reservation, owner: string): Promise<ReservationWithContext> {
    const disks = await this.diskNames([reservation]);
    const disk = reservation.diskId ? disks.get(reservation.diskId) : undefined;
    return { reservation, owner, ...this.clusterName(reservation), ...(disk ? { disk } : {}) };
  }

  private async diskNames(reservations: Reservation[]): Promise<Map<string, string>> {
    const ids = [...new Set(reservations.flatMap((reservation) => reservation.diskId ?? []))];
    if (ids.length === 0) {
      return new Map();
    }
    const disks = await this.dataSource.getRepository(Disk).findBy({ id: In(ids) });
    return new Map(disks.map((disk) => [disk.id, disk.name]));
  }

  private clusterName(reservation: Reservation): { cluster?: string } {
    const cluster = reservation.clusterId ? this.registry.get(reservation.clusterId) : undefined;
    return cluster ? { cluster: cluster.name } : {};
  }

  private async usernames(ids: string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) {
      return new Map();
    }
    const users = await this.dataSource.getRepository(User).findBy({ id: In(unique) });
    return new Map(users.map((user) => [user.id, user.username]));
  }

  private async byIdempotencyKey(
    ownerId: string,
    key: string,
    fingerprint: string,
  ): Promise<Reservation | undefined> {
    const earlier = await this.dataSource
      .getRepository(Reservation)
      .findOneBy({ ownerId, idempotencyKey: key });
    if (earlier && earlier.requestFingerprint !== fingerprint) {
      throw new AppError(
        ReservationErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was already used with another request',
        { reservation_id: earlier.id },
      );
    }
    return earlier ?? undefined;
  }

  private async checkedType(request: CreateReservationDto): Promise<GpuType> {
    const known = await this.catalog();
    const type = known.find((candidate) => candidate.name === request.gpu_type);
    if (!type) {
      throw new AppError(
        ReservationErrorCode.UnknownGpuType,
        `No GPU type ${request.gpu_type}; known: ${known.map((t) => t.name).join(', ')}`,
      );
    }
    if (!type.allowedCounts.includes(request.gpu_count)) {
      throw new AppError(
        ReservationErrorCode.InvalidGpuCount,
        `${type.name} takes ${type.allowedCounts.join(', ')} GPUs per reservation, not ${request.gpu_count}`,
        { allowed_counts: type.allowedCounts },
      );
    }
    return type;
  }

  private checkedMinutes(request: CreateReservationDto, type: GpuType): number {
    const minutes = Math.round(request.hours * 60);
    const maxHours = Math.min(type.maxHours, this.config.ODC_RESERVATION_MAX_HOURS);
    if (minutes < MIN_MINUTES || request.hours > maxHours) {
      throw new AppError(
        ReservationErrorCode.InvalidDuration,
        `hours must be from ${MIN_MINUTES} minutes to ${maxHours} h for ${type.name}`,
        { min_hours: Number((MIN_MINUTES / 60).toFixed(4)), max_hours: maxHours },
      );
    }
    if (request.hours > this.config.ODC_RESERVATION_MAX_LIFETIME_HOURS) {
      throw new AppError(
        ReservationErrorCode.LifetimeExceeded,
        `A reservation lives at most ${this.config.ODC_RESERVATION_MAX_LIFETIME_HOURS} h`,
      );
    }
    return minutes;
  }

  /**
   * Queueing what no node could ever hold would wait forever: refused, saying why. A disk that
   * cannot move (no current snapshot, or moving is off) limits the nodes to where its volume is.
   */
  private async assertSomeNodeCanHold(
    type: GpuType,
    request: CreateReservationDto,
    pin?: DiskPin,
  ): Promise<void> {
    const reach: NodeReach = {
      gpuType: type.name,
      clusters: this.registry
        .all()
        .filter((cluster) => cluster.enabled && !cluster.draining)
        .map((cluster) => cluster.id),
      labels: request.node_labels ?? {},
      clusterId: pin?.clusterId ?? null,
      zone: pin?.zone ?? null,
    };
    const { nodes, labelled, largest } = await this.nodeFigures.get(JSON.stringify(reach));
    if (labelled > 0 && largest >= request.gpu_count) {
      return;
    }
    const where = pin ? ` where disk ${request.disk} lives (${this.describePin(pin)})` : '';
    const message =
      nodes === 0
        ? pin
          ? `Disk ${request.disk} lives on ${this.describePin(pin)}, which offers no ${type.name} nodes now, and it has no current snapshot to start elsewhere from`
          : `No registered cluster offers ${type.name} nodes now`
        : labelled === 0
          ? `No ${type.name} node${where} has the labels ${JSON.stringify(request.node_labels)}`
          : `The largest ${type.name} node${where}${request.node_labels ? ' with those labels' : ''} offers ${Math.max(0, largest)} GPUs; a reservation never spans nodes`;
    throw new AppError(ReservationErrorCode.NoNodeLargeEnough, message, {
      largest_node_gpus: Math.max(0, largest),
    });
  }

  /** One row of figures, whatever the fleet's size (`labels @> selector` is matchesLabels). */
  private async readNodeFigures(reach: NodeReach): Promise<NodeFigures> {
    const [figures] = await this.dataSource.query<NodeFigures[]>(
      `SELECT count(*)::int AS nodes,
              count(*) FILTER (WHERE labels @> $3)::int AS labelled,
              coalesce(max(allocatable_gpus - ${FOREIGN_GPUS_SQL}) FILTER (WHERE labels @> $3), 0)::int AS largest
       FROM capacity WHERE gpu_type = $1 AND cluster_id = ANY($2)
         AND ($4::uuid IS NULL OR cluster_id = $4) AND ($5::text IS NULL OR zone = $5)`,
      [reach.gpuType, reach.clusters, JSON.stringify(reach.labels), reach.clusterId, reach.zone],
    );
    return figures;
  }

  /**
   * Where the caller's disk of that name holds a reservation when it cannot move: it has a volume,
   * and no current snapshot to restore elsewhere (or moving is off). Undefined when it goes
   * anywhere its snapshot can, or the disk does not exist (holdDisk answers that).
   */
  private async diskPin(ownerId: string, name: string): Promise<DiskPin | undefined> {
    const [row] = await this.dataSource.query<
      { cluster_id: string | null; zone: string | null; used: boolean; snapshotted: boolean }[]
    >(
      `SELECT d.volume_cluster_id AS cluster_id, d.zone, d.used_since_snapshot AS used,
              EXISTS (SELECT 1 FROM snapshots s WHERE s.disk_id = d.id AND s.status = 'ready') AS snapshotted
       FROM disks d
       WHERE d.owner_id = $1 AND d.name = $2 AND d.deleted_at IS NULL AND d.volume_id IS NOT NULL
         AND d.restore_from IS NULL`,
      [ownerId, name],
    );
    const movable = row && this.config.ODC_DISK_RESTORE_ELSEWHERE && !row.used && row.snapshotted;
    return row && !movable
      ? { ...(row.cluster_id ? { clusterId: row.cluster_id } : {}), ...(row.zone ? { zone: row.zone } : {}) }
      : undefined;
  }

  private describePin(pin: DiskPin): string {
    const cluster = pin.clusterId ? (this.registry.get(pin.clusterId)?.name ?? pin.clusterId) : undefined;
    return [cluster && `cluster ${cluster}`, pin.zone && `zone ${pin.zone}`].filter(Boolean).join(', ');
  }

  /**
   * The INSERT of a new reservation and its first event, only if the caller's GPUs held and waited
   * for, with this request, stay within the limits (all types and this type) and their queue is not
   * full; the caller holds their lock, so two requests at once cannot both pass. Its one row: the
   * reservation's columns (all null when it was not inserted) and what they hold (`held_*`).
   */
  private insertWithinLimits(
    ownerId: string,
    request: CreateReservationDto,
    fields: NewReservation,
    row: { durationMinutes: number; idempotencyKey?: string; fingerprint: string; reach: Reach },
  ): [string, unknown[]] {
    const params: unknown[] = [];
    const p: SqlParameter = (value) => {
      params.push(value);
      return `$${params.length}`;
    };
    const owner = p(ownerId);
    const gpuCount = p(fields.gpuCount);
    const sql = `WITH held AS (
         SELECT coalesce(sum(gpu_count), 0)::int AS gpus,
                coalesce(sum(gpu_count) FILTER (WHERE gpu_type = ${p(request.gpu_type)}), 0)::int AS of_type,
                count(*) FILTER (WHERE status = 'queued')::int AS queued
         FROM reservations WHERE owner_id = ${owner} AND status IN (${sqlTextList(LIVE_STATUSES)})),
       standing AS (${newStandingSql(p, fields, row.reach)}),
       inserted AS (
         INSERT INTO reservations (owner_id, name, gpu_type, gpu_count, priority, node_labels, duration_minutes,
                                   image, jupyter, no_persist, external_id, idempotency_key,
                                   request_fingerprint, queue_position, estimated_start, version)
         SELECT ${owner}, ${p(request.name ?? null)}, ${p(fields.gpuType)}, ${gpuCount}, ${p(fields.priority)},
                ${p(fields.nodeLabels === null ? null : JSON.stringify(fields.nodeLabels))}::jsonb,
                ${p(row.durationMinutes)}, ${p(request.image ?? null)}, ${p(request.jupyter ?? false)},
                ${p(request.no_persist ?? false)}, ${p(`odc-${randomBytes(6).toString('hex')}`)},
                ${p(row.idempotencyKey ?? null)}, ${p(row.idempotencyKey !== undefined ? row.fingerprint : null)},
                standing.position, standing.estimated_start, 1
         FROM held, standing
         WHERE held.gpus + ${gpuCount}::int <= ${p(this.config.ODC_MAX_GPUS_PER_USER)}::int
           AND held.of_type + ${gpuCount}::int <= ${p(this.config.maxGpusPerUserFor(request.gpu_type))}::int
           AND held.queued < ${p(this.config.ODC_MAX_QUEUED_PER_USER)}::int
         RETURNING *),
       event AS (
         INSERT INTO reservation_events (reservation_id, to_status, message)
         SELECT id, 'queued', ${p(`Queued: ${fields.gpuCount} × ${fields.gpuType} for ${request.hours} h${request.disk ? ` with disk ${request.disk}` : ''}`)}
         FROM inserted)
     SELECT inserted.*, held.gpus AS held_gpus, held.of_type AS held_of_type, held.queued AS held_queued
     FROM held LEFT JOIN inserted ON true`;
    return [sql, params];
  }

  /** Which limit a request not inserted by insertWithinLimits would pass. */
  private limitReached(
    request: CreateReservationDto,
    held: { gpus: number; ofType: number; queued: number },
  ): AppError {
    const total = held.gpus + request.gpu_count;
    const ofType = held.ofType + request.gpu_count;
    const maxTotal = this.config.ODC_MAX_GPUS_PER_USER;
    const maxOfType = this.config.maxGpusPerUserFor(request.gpu_type);
    if (total > maxTotal || ofType > maxOfType) {
      const [limit, scope] = total > maxTotal ? [maxTotal, 'GPUs'] : [maxOfType, `${request.gpu_type} GPUs`];
      return new AppError(
        ReservationErrorCode.QuotaExceeded,
        `At most ${limit} ${scope} per user, queued and running together; this would make ${total > maxTotal ? total : ofType}`,
        { limit, requested: request.gpu_count },
      );
    }
    return new AppError(
      ReservationErrorCode.QueueLimitReached,
      `At most ${this.config.ODC_MAX_QUEUED_PER_USER} queued reservations per user`,
      { limit: this.config.ODC_MAX_QUEUED_PER_USER },
    );
  }
}
