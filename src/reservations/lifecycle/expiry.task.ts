import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan, LessThanOrEqual, type EntityManager } from 'typeorm';
import { User } from '../../auth/public';
import { ReservationsConfig } from '../reservations.config';
import { ExclusiveTaskRunner } from '../../infra/cron/exclusive-task.runner';
import { PeriodicTask } from '../../infra/cron/periodic-task';
import { QueueService } from '../../infra/queue/queue.service';
import { Reservation } from '../reservation.entity';
import { NOTIFY_QUEUE, REAPPLY_QUEUE, TEARDOWN_QUEUE } from '../reservation-queues';
import { recordEvent } from '../reservation-transitions';
import { endReservation } from './ending';
import type { ReservationNotice } from './notify.worker';

export const EXPIRY_TASK = 'reservations.expiry';

const MINUTE = 60_000;
const TEARDOWN_RETRY_MS = 10 * MINUTE;

export interface ExpiryRound {
  warned: number;
  expired: number;
  stuck: number;
  stale: number;
  /** Reservations ending for too long, whose teardown was queued again. */
  retried: number;
}

/**
 * The warning due for a reservation with `minutesLeft` to go: the smallest mark it has reached and
 * not been warned for. Larger marks it is already past are counted as done without a warning of
 * their own (with 10 minutes left it hears the 15-minute warning once, not 30 and 15 late; the
 * 5-minute one comes at its time).
 */
export function dueWarning(
  marks: readonly number[],
  sent: readonly number[],
  minutesLeft: number,
): { warn?: number; done: number[] } {
  const reached = marks.filter((mark) => minutesLeft <= mark && !sent.includes(mark));
  if (reached.length === 0) {
    return { done: [] };
  }
  return { warn: Math.min(...reached), done: reached };
}

/**
 * Cron (exactly once across replicas), every ODC_EXPIRY_INTERVAL_SECONDS, at `now` (the clock's,
 * unless a test names the time): expiry warnings (event, notice file in the environment, webhook), each once;
 * expiry after ODC_EXPIRY_GRACE_SECONDS through teardown; placing or provisioning for longer than
 * ODC_PROVISIONING_TIMEOUT_MINUTES → failed; queued for longer than ODC_QUEUED_TIMEOUT_HOURS →
 * cancelled. Each with its reason in the timeline.
 */
@Injectable()
export class ExpiryTask extends PeriodicTask {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: QueueService,
    runner: ExclusiveTaskRunner,
    private readonly config: ReservationsConfig,
  ) {
    super(runner, EXPIRY_TASK, config.ODC_EXPIRY_INTERVAL_SECONDS * 1000);
  }

  protected runRound(): Promise<ExpiryRound> {
    return this.round();
  }

  async round(now = this.clock.now()): Promise<ExpiryRound> {
    return {
      warned: await this.warn(now),
      expired: await this.expire(now),
      stuck: await this.failStuck(now),
      stale: await this.cancelStale(now),
      retried: await this.retryTeardowns(now),
    };
  }

  /**
   * Ending for longer than a teardown should take (its cluster was away, its job ran out of
   * retries): a teardown job again, at most one per reservation per TEARDOWN_RETRY_MS.
   */
  private async retryTeardowns(now: Date): Promise<number> {
    await this.adoptFormerEndingStatus();
    const stuck = await this.dataSource
      .getRepository(Reservation)
      .findBy({ status: 'ending', statusSince: LessThan(new Date(now.getTime() - TEARDOWN_RETRY_MS)) });
    for (const reservation of stuck) {
      await this.jobs.send(
        TEARDOWN_QUEUE,
        { reservation_id: reservation.id },
        { singletonKey: reservation.id, singletonSeconds: TEARDOWN_RETRY_MS / 1000 },
      );
    }
    return stuck.length;
  }

  /**
   * `ending` was called `expiring` before (migrations/1795630000000-EndingStatus.ts renamed the
   * rows): a replica of that release, still running during a rolling upgrade, ends reservations
   * with the old word, which nothing here would count, tear down or retry. Taken as `ending` each
   * round (an indexed no-op once none is left). Remove when no such release can run beside this one.
   */
  private async adoptFormerEndingStatus(): Promise<void> {
    await this.dataSource.query(
      `UPDATE reservations SET status = 'ending', version = version + 1 WHERE status = 'expiring'`,
    );
  }

  private async warn(now: Date): Promise<number> {
    const marks = this.config.expiryWarningMinutes;
    if (marks.length === 0) {
      return 0;
    }
    const horizon = new Date(now.getTime() + Math.max(...marks) * MINUTE);
    const soon = await this.dataSource
      .getRepository(Reservation)
      .findBy({ status: 'active', expiresAt: LessThanOrEqual(horizon) });
    let warned = 0;
    for (const reservation of soon) {
      const minutesLeft = (reservation.expiresAt!.getTime() - now.getTime()) / MINUTE;
      const due = dueWarning(marks, reservation.warningsSent, minutesLeft);
      if (due.done.length > 0 && (await this.recordWarning(reservation, due, minutesLeft, now))) {
        warned += due.warn !== undefined ? 1 : 0;
      }
    }
    return warned;
  }

  /** Marks the warnings done (guarded, so a repeat of the round warns nobody twice) and sends the one due. */
  private async recordWarning(
    reservation: Reservation,
    due: { warn?: number; done: number[] },
    minutesLeft: number,
    now: Date,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      const marked = await tx
        .createQueryBuilder()
        .update(Reservation)
        .set({ warningsSent: () => `array(SELECT DISTINCT unnest(warnings_sent || :done::int[]))` })
        // The expiry read is still the expiry: an extension meanwhile makes this warning moot.
        .where(
          `id = :id AND status = 'active' AND expires_at = :expiresAt AND NOT (warnings_sent && :done::int[])`,
          {
            id: reservation.id,
            expiresAt: reservation.expiresAt,
            done: due.done,
          },
        )
        .execute();
      if (!marked.affected || due.warn === undefined) {
        return Boolean(marked.affected);
      }
      const left = Math.max(0, Math.round(minutesLeft));
      const message = `Expires in ${left} minute${left === 1 ? '' : 's'} (at ${reservation.expiresAt!.toISOString()}); extend it to keep working`;
      await recordEvent(tx, {
        reservationId: reservation.id,
        message,
        details: { warning_minutes: due.warn },
      });
      await this.jobs.send(
        REAPPLY_QUEUE,
        { reservation_id: reservation.id, warning: message },
        { manager: tx },
      );
      await this.jobs.send(
        NOTIFY_QUEUE,
        await this.notice(tx, reservation, 'expiry_warning', message, now, left),
        {
          manager: tx,
        },
      );
      return true;
    });
  }

  private async expire(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.ODC_EXPIRY_GRACE_SECONDS * 1000);
    const due = await this.dataSource
      .getRepository(Reservation)
      .findBy({ status: 'active', expiresAt: LessThanOrEqual(cutoff) });
    let expired = 0;
    for (const reservation of due) {
      const ended = await this.dataSource.transaction(async (tx) => {
        // Locked and read again: an extension committed since the list above wins.
        const current = await tx
          .getRepository(Reservation)
          .findOne({ where: { id: reservation.id }, lock: { mode: 'pessimistic_write' } });
        if (current?.status !== 'active' || !current.expiresAt || current.expiresAt > cutoff) {
          return undefined;
        }
        const ending = await endReservation(tx, this.jobs, reservation.id, 'expired', 'its time is up');
        if (ending) {
          await this.jobs.send(
            NOTIFY_QUEUE,
            await this.notice(tx, reservation, 'ended', 'Expired: its time is up', now),
            {
              manager: tx,
            },
          );
        }
        return ending;
      });
      expired += ended ? 1 : 0;
    }
    return expired;
  }

  private async failStuck(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.ODC_PROVISIONING_TIMEOUT_MINUTES * MINUTE);
    const stuck = await this.dataSource
      .getRepository(Reservation)
      .findBy({ status: In(['placing', 'provisioning']), statusSince: LessThan(cutoff) });
    let failed = 0;
    for (const reservation of stuck) {
      const reason = `not ready after ${this.config.ODC_PROVISIONING_TIMEOUT_MINUTES} minutes ${reservation.status === 'placing' ? 'of placing' : 'of provisioning'}`;
      failed += (await this.dataSource.transaction((tx) =>
        endReservation(tx, this.jobs, reservation.id, 'failed', reason),
      ))
        ? 1
        : 0;
    }
    return failed;
  }

  private async cancelStale(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.ODC_QUEUED_TIMEOUT_HOURS * 60 * MINUTE);
    const stale = await this.dataSource
      .getRepository(Reservation)
      .findBy({ status: 'queued', createdAt: LessThan(cutoff) });
    let cancelled = 0;
    for (const reservation of stale) {
      const reason = `waited in the queue for more than ${this.config.ODC_QUEUED_TIMEOUT_HOURS} h`;
      cancelled += (await this.dataSource.transaction((tx) =>
        endReservation(tx, this.jobs, reservation.id, 'cancelled', reason),
      ))
        ? 1
        : 0;
    }
    return cancelled;
  }

  /**
   * In `tx`, the transaction that sends it: one that waited for another connection of the pool
   * could, with every connection held by such a transaction, wait forever.
   */
  private async notice(
    tx: EntityManager,
    reservation: Reservation,
    event: ReservationNotice['event'],
    message: string,
    now: Date,
    minutesLeft?: number,
  ): Promise<ReservationNotice> {
    const owner = await tx.getRepository(User).findOneBy({ id: reservation.ownerId });
    return {
      event,
      reservation_id: reservation.id,
      ...(reservation.name ? { name: reservation.name } : {}),
      user: owner?.username ?? '',
      gpu_type: reservation.gpuType,
      gpu_count: reservation.gpuCount,
      status: event === 'ended' ? 'expired' : reservation.status,
      ...(reservation.expiresAt ? { expires_at: reservation.expiresAt.toISOString() } : {}),
      ...(minutesLeft !== undefined ? { minutes_left: minutesLeft } : {}),
      message,
      at: now.toISOString(),
    };
  }
}
