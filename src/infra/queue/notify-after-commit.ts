import { Logger } from '@nestjs/common';
import {
  type DataSource,
  EventSubscriber,
  type EntityManager,
  type EntitySubscriberInterface,
  type QueryRunner,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from 'typeorm';

/** Payloads by channel. */
type Notifications = Map<string, Set<string>>;

/** Per open transaction (its query runner): the notifications to send once it commits. */
const pending = new WeakMap<QueryRunner, Notifications>();

/**
 * Sends a transaction's NOTIFYs after it commits, and none if it rolls back: registered as a
 * TypeORM subscriber of the data source.
 *
 * Why not NOTIFY inside the transaction, where PostgreSQL would deliver it at commit: a transaction
 * that has notified takes a lock on the notification queue at commit and holds it until its commit
 * record is flushed, so every such transaction waits for the others' WAL flushes, one at a time.
 * With a reserve, a cancel and the jobs they make each notifying, that lock was the commonest wait
 * in PostgreSQL at 120 reservations/s (about 0.4 sessions on average). A NOTIFY alone writes no WAL
 * and holds the lock for microseconds.
 *
 * The committer does not wait for it: a notification only wakes a consumer sooner, so it is no
 * part of what the caller is told, and a round trip less on every write's answer. Those committed
 * while one is being sent go together in the next statement (see Notifier). What this gives up: a
 * process killed between the commit and the NOTIFY wakes no one, so what the notification stood
 * for is found by its consumer's timer or poll instead (every use here has one); nothing committed
 * is lost.
 */
@EventSubscriber()
export class NotifyAfterCommit implements EntitySubscriberInterface {
  private readonly notifiers = new WeakMap<DataSource, Notifier>();

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A savepoint released inside the transaction is not its commit.
    if (event.queryRunner.isTransactionActive) {
      return;
    }
    const notifications = pending.get(event.queryRunner);
    pending.delete(event.queryRunner);
    if (!notifications) {
      return;
    }
    let notifier = this.notifiers.get(event.connection);
    if (!notifier) {
      notifier = new Notifier(event.connection);
      this.notifiers.set(event.connection, notifier);
    }
    notifier.send(notifications);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) {
      pending.delete(event.queryRunner);
    }
  }
}

/**
 * Committed transactions' notifications, sent on any of the data source's connections, one
 * statement at a time: those that arrive while one is under way go in the next, alike ones folded.
 */
class Notifier {
  private readonly logger = new Logger('NotifyAfterCommit');
  private waiting: Notifications = new Map();
  private sending = false;

  constructor(private readonly dataSource: DataSource) {}

  send(notifications: Notifications): void {
    for (const [channel, payloads] of notifications) {
      const waiting = this.waiting.get(channel);
      this.waiting.set(channel, waiting ? new Set([...waiting, ...payloads]) : payloads);
    }
    if (!this.sending) {
      void this.sendWaiting();
    }
  }

  private async sendWaiting(): Promise<void> {
    this.sending = true;
    try {
      while (this.waiting.size > 0 && this.dataSource.isInitialized) {
        const batch = this.waiting;
        this.waiting = new Map();
        await this.notify(batch);
      }
      // A data source closed meanwhile: its consumers are gone too.
      this.waiting.clear();
    } finally {
      this.sending = false;
    }
  }

  /** Never thrown: the transactions have committed, and a lost wake-up is found by a poll. */
  private async notify(batch: Notifications): Promise<void> {
    const channels: string[] = [];
    const payloads: string[] = [];
    for (const [channel, sent] of batch) {
      for (const payload of sent) {
        channels.push(channel);
        payloads.push(payload);
      }
    }
    await this.dataSource
      .query('SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)', [channels, payloads])
      .catch((error: unknown) => {
        if (this.dataSource.isInitialized) {
          this.logger.warn(
            `notifications after commit not sent (${[...batch.keys()].join(', ')}): ${String(error)}`,
          );
        }
      });
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
