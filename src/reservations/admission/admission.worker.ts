import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../infra/config/env';
import { QueueService } from '../../infra/queue/queue.service';
import { ADMISSION_CHANNEL, ADMIT_QUEUE } from '../reservation-queues';
import { AdmissionService } from './admission.service';

/**
 * Worker role: admission passes, on demand and on a timer. A reservation that ended or a
 * placement that bounced notifies ADMISSION_CHANNEL in its transaction (`requestAdmission`); an
 * admit job (a new reservation's) asks too, a batch of them one pass. The timer (ODC_ADMISSION_INTERVAL_SECONDS) catches what no event announces, such as
 * capacity that came back. Passes in one process run one at a time; a request for a pass while
 * one runs makes exactly one more after it. Passes of several workers may overlap: claims are safe.
 */
@Injectable()
export class AdmissionWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Admission');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;

  constructor(
    private readonly admission: AdmissionService,
    private readonly jobs: QueueService,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work(ADMIT_QUEUE, { batchSize: 100 }, () => this.requestPass());
    await this.jobs.listen(ADMISSION_CHANNEL, () => {
      this.requestPass().catch((error: unknown) =>
        this.logger.warn(`admission pass failed: ${String(error)}`),
      );
    });
    this.timer = setInterval(() => {
      this.requestPass().catch((error: unknown) =>
        this.logger.warn(`admission pass failed: ${String(error)}`),
      );
    }, this.config.ODC_ADMISSION_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Resolves when a pass that started after this call has finished. */
  requestPass(): Promise<void> {
    if (this.running) {
      // The running loop goes round once more, so it ends after a pass that started after this call.
      this.again = true;
      return this.running;
    }
    this.running = this.runPasses().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runPasses(): Promise<void> {
    do {
      this.again = false;
      const result = await this.admission.pass();
      if (result.admitted > 0 || result.contended > 0) {
        this.logger.debug({ ...result }, 'admission pass');
      }
    } while (this.again);
  }
}
