import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, In } from 'typeorm';
import { ownedOrNotFound, ownerFilter, type Principal, User } from '../auth/public';
import { ClusterRegistry } from '../clusters/public';
import { SharedRead } from '../infra/cache/shared-read';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ReservationsConfig } from './reservations.config';
import { Disk } from '../storage/public';
import { GpuType } from './catalog/gpu-type.entity';
import { RESERVATION_PAGE_DEFAULT, type ListReservationsQueryDto } from './dto/reservation.dto';
import type { QueueDto, QueueEntryDto } from './dto/queue.dto';
import { ReservationEvent } from './reservation-event.entity';
import { hoursOf } from './reservation-view';
import { NAMED_STATUSES, Reservation } from './reservation.entity';
import { isUuid } from './dto/reservation-ref';

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

export interface ReservationWithContext {
  reservation: Reservation;
  owner: string;
  cluster?: string;
  /** Its cluster is simulated: its addresses lead nowhere. */
  simulated?: true;
  disk?: string;
  events?: ReservationEvent[];
}

/**
 * Reservations as their owners (and admins) read them: listed and shown with their owner's,
 * cluster's and disk's names and their queue standing (as the last admission pass stored it), the
 * queue, the catalog; another user's answer 404. Nothing here writes.
 */
@Injectable()
export class ReservationQueries {
  /** Each type's head of the queue, with its length and longest wait: the same for every caller. */
  private readonly queueHeads: SharedRead<QueueHeadRow[], number>;
  /** The enabled GPU types, which every reserve checks its request against. */
  private readonly enabledTypes: SharedRead<GpuType[], 'enabled'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ReservationsConfig,
    private readonly registry: ClusterRegistry,
  ) {
    const maxAgeMs = config.ODC_SHARED_READS_MAX_AGE_SECONDS * 1000;
    this.queueHeads = new SharedRead((head) => this.readQueueHeads(head), maxAgeMs);
    this.enabledTypes = new SharedRead(
      () => dataSource.getRepository(GpuType).find({ where: { enabled: true }, order: { name: 'ASC' } }),
      maxAgeMs,
    );
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
  /**
   * The id a path names: an id as given, or a name: the caller's reservation of that name that is
   * neither over nor ending (one at most; ended ones are named by id).
   */
  async idOf(principal: Principal, ref: string): Promise<string> {
    if (isUuid(ref)) {
      return ref;
    }
    const named = await this.dataSource.getRepository(Reservation).findOne({
      select: { id: true },
      where: { ownerId: principal.userId, name: ref, status: In([...NAMED_STATUSES]) },
    });
    if (!named) {
      throw new AppError(
        CommonErrorCode.NotFound,
        `You have no reservation named ${ref} that has not ended (an ended one is named by its id)`,
      );
    }
    return named.id;
  }

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

  private clusterName(reservation: Reservation): { cluster?: string; simulated?: true } {
    const cluster = reservation.clusterId ? this.registry.get(reservation.clusterId) : undefined;
    if (!cluster) {
      return {};
    }
    return { cluster: cluster.name, ...(cluster.profile.simulated ? { simulated: true as const } : {}) };
  }

  private async usernames(ids: string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) {
      return new Map();
    }
    const users = await this.dataSource.getRepository(User).findBy({ id: In(unique) });
    return new Map(users.map((user) => [user.id, user.username]));
  }
}
