import { Logger } from '@nestjs/common';
import {
  EventSubscriber,
  type EntityManager,
  type EntitySubscriberInterface,
  type QueryRunner,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from 'typeorm';

/** Per open transaction (its query runner): the notifications to send once it commits. */
const pending = new WeakMap<QueryRunner, Map<string, Set<string>>>();

/**
 * Sends a transaction's NOTIFYs after it commits, each in a statement of its own on the same
 * connection, and none if it rolls back: registered as a TypeORM subscriber of the data source.
 *
 * Why not NOTIFY inside the transaction, where PostgreSQL would deliver it at commit: a transaction
 * that has notified takes a lock on the notification queue at commit and holds it until its commit
 * record is flushed, so every such transaction waits for the others' WAL flushes, one at a time.
 * With a reserve, a cancel and the jobs they make each notifying, that lock was the commonest wait
 * in PostgreSQL at 120 reservations/s (about 0.4 sessions on average). A NOTIFY alone writes no WAL
 * and holds the lock for microseconds. What this gives up: a process killed between the commit and
 * the NOTIFY wakes no one, so what the notification stood for is found by its consumer's timer or
 * poll instead (every use here has one); nothing committed is lost.
 */
@EventSubscriber()
export class NotifyAfterCommit implements EntitySubscriberInterface {
  private readonly logger = new Logger('NotifyAfterCommit');

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    // A savepoint released inside the transaction is not its commit.
    if (event.queryRunner.isTransactionActive) {
      return;
    }
    const notifications = pending.get(event.queryRunner);
    pending.delete(event.queryRunner);
    if (!notifications) {
      return;
    }
    const channels: string[] = [];
    const payloads: string[] = [];
    for (const [channel, sent] of notifications) {
      for (const payload of sent) {
        channels.push(channel);
        payloads.push(payload);
      }
    }
    // Never thrown: the transaction has committed, and its caller must hear that it did.
    await event.queryRunner
      .query('SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)', [channels, payloads])
      .catch((error: unknown) =>
        this.logger.warn(`notifications after commit not sent (${channels.join(', ')}): ${String(error)}`),
      );
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) {
      pending.delete(event.queryRunner);
    }
  }
}

/**
 * Queues a NOTIFY for when `manager`'s transaction commits (several alike arrive as one, as
 * PostgreSQL folds them too). False when that data source has no NotifyAfterCommit subscriber:
 * the caller then notifies inside the transaction.
 */
export function notifyAfterCommit(manager: EntityManager, channel: string, payload = ''): boolean {
  const runner = manager.queryRunner;
  if (
    !runner?.isTransactionActive ||
    !manager.connection.subscribers.some((s) => s instanceof NotifyAfterCommit)
  ) {
    return false;
  }
  let notifications = pending.get(runner);
  if (!notifications) {
    notifications = new Map();
    pending.set(runner, notifications);
  }
  let payloads = notifications.get(channel);
  if (!payloads) {
    payloads = new Set();
    notifications.set(channel, payloads);
  }
  payloads.add(payload);
  return true;
}
