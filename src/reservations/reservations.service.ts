import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { canonicalJson } from '../audit/public';
import { type Principal, User } from '../auth/public';
import { standingOf, ClusterRegistry } from '../clusters/public';
import { ReservationsConfig } from './reservations.config';
import { LOCK_NAMESPACE } from '../infra/database/advisory-locks';
import { isUniqueViolation } from '../infra/database/database-errors';
import { onlyRow } from '../infra/database/only-row';
import { queryPrepared, sqlTextList } from '../infra/database/prepared';
import { AppError } from '../infra/errors/app-error';
import { QueueService } from '../infra/queue/queue.service';
import { DiskHolds } from '../storage/public';
import type { CreateReservationDto } from './dto/reservation.dto';
import { endReservation } from './lifecycle/ending';
import { ReservationQueries, type ReservationWithContext } from './reservation-queries';
import { REAPPLY_QUEUE, requestAdmission } from './reservation-queues';
import { lockReservation, recordEvent, reservationOf } from './reservation-transitions';
import { hoursOf } from './reservation-view';
import { ReservationErrorCode } from './reservation.errors';
import { LIVE_STATUSES, NAMED_STATUSES, Reservation, type ReservationStatus } from './reservation.entity';
import { MIN_MINUTES, ReservationRequestChecks } from './request-checks';
import {
  newStandingSql,
  type NewReservation,
  type Reach,
  type SqlParameter,
} from './scheduling/queue-standings';

const MAX_SECONDARY_USERS = 8;
/** What a user may still change: not over, and not ending. */
const CHANGEABLE_STATUSES: readonly ReservationStatus[] = ['queued', 'placing', 'provisioning', 'active'];

/** What a change does besides, in its own transaction (the caller's audit record): it commits with the change. */
export type InTransaction = (tx: EntityManager, reservation: Reservation) => Promise<void>;

/**
 * Reservations as their owners (and admins) change them: made (checked by ReservationRequestChecks,
 * then inserted within the owner's limits with a request for an admission pass, in one
 * transaction), cancelled, extended, Jupyter on or off, shared. Reads are ReservationQueries'.
 */
@Injectable()
export class ReservationsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ReservationsConfig,
    private readonly jobs: QueueService,
    private readonly registry: ClusterRegistry,
    private readonly diskHolds: DiskHolds,
    private readonly queries: ReservationQueries,
    private readonly checks: ReservationRequestChecks,
  ) {}

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
    const { type, durationMinutes, pin } = await this.checks.check(principal.userId, request);
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
        const rows = await queryPrepared<Record<string, unknown>>(
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
        const row = onlyRow(rows, 'inserting a reservation within limits');
        if (row.name_taken_by !== null) {
          throw nameTaken(request.name ?? '', row.name_taken_by as string);
        }
        if (row.id === null) {
          throw this.checks.limitReached(request, {
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
      const reservation = await this.queries.owned(principal, id);
      throw new AppError(
        ReservationErrorCode.InvalidState,
        `Reservation ${id} is ${reservation.status}${reservation.status === 'ending' && reservation.endingAs ? ` (as ${reservation.endingAs})` : ''}`,
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
    await this.queries.owned(principal, id);
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
    return this.queries.get(principal, id);
  }

  /** Jupyter on or off; a running reservation gets (or loses) its Ingress and URL. */
  async setJupyter(
    principal: Principal,
    id: string,
    enabled: boolean,
    alongWith?: InTransaction,
  ): Promise<ReservationWithContext> {
    await this.queries.owned(principal, id);
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
    return this.queries.get(principal, id);
  }

  /** Another user gets SSH access too (their keys join the environment's authorized_keys). */
  async addUser(
    principal: Principal,
    id: string,
    username: string,
    alongWith?: InTransaction,
  ): Promise<ReservationWithContext> {
    await this.queries.owned(principal, id);
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
    return this.queries.get(principal, id);
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

  /**
   * The INSERT of a new reservation and its first event, only if the caller's GPUs held and waited
   * for, with this request, stay within the limits (all types and this type) and their queue is not
   * full; the caller holds their lock, so two requests at once cannot both pass. Its one row: the
   * reservation's columns (all null when it was not inserted), what they hold (`held_*`) and their
   * reservation that already has the name (`name_taken_by`).
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
       named AS (
         SELECT id FROM reservations
         WHERE owner_id = ${owner} AND name = ${p(request.name ?? null)} AND status IN (${sqlTextList(NAMED_STATUSES)})),
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
         WHERE NOT EXISTS (SELECT 1 FROM named)
           AND held.gpus + ${gpuCount}::int <= ${p(this.config.ODC_MAX_GPUS_PER_USER)}::int
           AND held.of_type + ${gpuCount}::int <= ${p(this.config.maxGpusPerUserFor(request.gpu_type))}::int
           AND held.queued < ${p(this.config.ODC_MAX_QUEUED_PER_USER)}::int
         RETURNING *),
       event AS (
         INSERT INTO reservation_events (reservation_id, to_status, message)
         SELECT id, 'queued', ${p(`Queued: ${fields.gpuCount} × ${fields.gpuType} for ${request.hours} h${request.disk ? ` with disk ${request.disk}` : ''}`)}
         FROM inserted)
     SELECT inserted.*, held.gpus AS held_gpus, held.of_type AS held_of_type, held.queued AS held_queued,
            (SELECT id FROM named LIMIT 1) AS name_taken_by
     FROM held LEFT JOIN inserted ON true`;
    return [sql, params];
  }
}

/** 409 name_taken: says which reservation has the name and how to go on. */
function nameTaken(name: string, holderId: string): AppError {
  return new AppError(
    ReservationErrorCode.NameTaken,
    `You already have a reservation named ${name} (${holderId}) that has not ended: choose another name, or cancel that one first`,
    { reservation_id: holderId },
  );
}
