import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { QueueService } from '../infra/queue/queue.service';

/** pg-boss's smallest: a job whose worker stops beating for this long is failed back to retry. */
const HEARTBEAT_SECONDS = 10;

/**
 * Asks a worker for an admission pass, as a job. Kept for senders not yet on ADMISSION_CHANNEL
 * (and jobs of older replicas); `requestAdmission` is the cheaper way.
 */
export const ADMIT_QUEUE = 'reservations.admit';
/** The NOTIFY channel that asks workers for an admission pass (`requestAdmission`). */
export const ADMISSION_CHANNEL = 'odc_reservations_admit';
/** Provisions a placed reservation on its cluster. */
export const PROVISION_QUEUE = 'reservations.provision';
/** Deletes an ending reservation's objects, then gives its GPUs back. */
export const TEARDOWN_QUEUE = 'reservations.teardown';
/** Applies a running reservation's spec again: new keys, Jupyter on or off, the notice file. */
export const REAPPLY_QUEUE = 'reservations.reapply';
/** Tells the webhook (ODC_NOTIFY_WEBHOOK_URL) of a warning or an end. */
export const NOTIFY_QUEUE = 'reservations.notify';

/**
 * The reservation queues exist before any replica sends to them (pg-boss refuses to send to an
 * unknown queue); defining them is idempotent, so every role that sends or works does it at start.
 */
@Injectable()
export class ReservationQueues implements OnModuleInit {
  constructor(private readonly jobs: QueueService) {}

  async onModuleInit(): Promise<void> {
    // Workers send heartbeats while a job runs: a killed worker's job is retried within the
    // heartbeat and the queue's monitor interval (ODC_QUEUE_MONITOR_INTERVAL_SECONDS), not after
    // the default 15-minute expiry. Every handler is idempotent, so a second run is harmless.
    const common = { retryBackoff: true, heartbeatSeconds: HEARTBEAT_SECONDS };
    await this.jobs.defineQueue({ name: ADMIT_QUEUE, retryLimit: 5, retryDelay: 1, ...common });
    await this.jobs.defineQueue({ name: PROVISION_QUEUE, retryLimit: 10, retryDelay: 2, ...common });
    // A cluster may be down for a while: its teardown keeps trying (the GPUs stay held meanwhile).
    await this.jobs.defineQueue({
      name: TEARDOWN_QUEUE,
      retryLimit: 50,
      retryDelay: 5,
      retryDelayMax: 300,
      ...common,
    });
    await this.jobs.defineQueue({ name: REAPPLY_QUEUE, retryLimit: 10, retryDelay: 2, ...common });
    await this.jobs.defineQueue({ name: NOTIFY_QUEUE, retryLimit: 8, retryDelay: 5, ...common });
  }
}

/**
 * An admission pass once `tx` commits (a new, ended or bounced reservation): a NOTIFY that wakes
 * every worker's AdmissionWorker, not a job. Nothing is lost when no worker hears it (none
 * running, a listen connection down): what a pass acts on is the reservations' own rows, and
 * every worker passes every ODC_ADMISSION_INTERVAL_SECONDS anyway.
 */
export async function requestAdmission(tx: EntityManager, jobs: QueueService): Promise<void> {
  await jobs.notify(ADMISSION_CHANNEL, { manager: tx });
}
