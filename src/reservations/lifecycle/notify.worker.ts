import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { request } from 'undici';
import { ReservationsConfig } from '../reservations.config';
import { QueueService } from '../../infra/queue/queue.service';
import { NOTIFY_QUEUE } from '../reservation-queues';

/** What the webhook receives (JSON). */
export interface ReservationNotice {
  event: 'expiry_warning' | 'ended';
  reservation_id: string;
  name?: string;
  user: string;
  gpu_type: string;
  gpu_count: number;
  status: string;
  expires_at?: string;
  minutes_left?: number;
  message: string;
  at: string;
}

const TIMEOUT_MS = 10_000;

/**
 * Worker role: notices POSTed to ODC_NOTIFY_WEBHOOK_URL. A failed delivery (no answer, non-2xx)
 * fails the job, which pg-boss retries with backoff; a notice may therefore arrive twice, never
 * not at all while the webhook comes back within the retries.
 */
@Injectable()
export class NotifyWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('Notify');

  constructor(
    private readonly jobs: QueueService,
    private readonly config: ReservationsConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.workEach<ReservationNotice>(NOTIFY_QUEUE, { batchSize: 8 }, (job) =>
      this.deliver(job.data),
    );
  }

  async deliver(notice: ReservationNotice): Promise<void> {
    const url = this.config.ODC_NOTIFY_WEBHOOK_URL;
    if (!url) {
      return;
    }
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'odc-notify' },
      body: JSON.stringify(notice),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      this.logger.warn(
        { status: response.statusCode, reservation: notice.reservation_id },
        'webhook refused a notice',
      );
      throw new Error(`the notify webhook answered ${response.statusCode}`);
    }
  }
}
