import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ReservationsConfig } from '../reservations.config';
import { QueueService } from '../../infra/queue/queue.service';
import { Clock } from '../../infra/time/clock';
import { scheduleInterval } from '../../infra/time/scheduled-interval';
import { ADMISSION_CHANNEL, ADMIT_QUEUE } from '../reservation-queues';
import { AdmissionService } from './admission.service';

/**
 * The least time between the starts of two passes. A pass reads the fleet and the queue whatever
 * it admits (about 10 ms at 150 nodes): at 93 reservations/s a pass ran for almost every one
 * (77 passes/s), and 25 ms apart they still ran 40 times a second from 60 reservations/s up, a
 * third of the worker's statements. A quiet queue waits for nothing: its pass starts at once.
 */
const MIN_PASS_GAP_MS = 50;

/** The pass timer's name in the SchedulerRegistry. */
const ADMISSION_TIMER = 'admission-pass';

/**
 * Worker role: admission passes, on demand and on a timer. A reservation that ended or a
 * placement that bounced notifies ADMISSION_CHANNEL in its transaction (`requestAdmission`); an
 * admit job (a new reservation's) asks too, a batch of them one pass. The timer
 * (ODC_ADMISSION_INTERVAL_SECONDS) catches what no event announces, such as capacity that came
 * back. Passes in one process run one at a time, MIN_PASS_GAP_MS apart at least; a request for a
 * pass while one runs makes exactly one more after it. Passes of several workers may overlap:
 * claims are safe. The timer and a pass's idea of now come from the clock; the gap between passes
 * is a load limit, so it is measured in real time (a test's stopped clock must not stop passes).
 */
@Injectable()
export class AdmissionWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Admission');
  private running?: Promise<void>;
  private again = false;
  private lastPassStart = -Infinity;
  private stopTimer?: () => void;

  constructor(
    private readonly admission: AdmissionService,
    private readonly jobs: QueueService,
    private readonly config: ReservationsConfig,
    private readonly schedules: SchedulerRegistry,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work(ADMIT_QUEUE, { batchSize: 100 }, () => this.requestPass());
    await this.jobs.listen(ADMISSION_CHANNEL, () => {
      this.requestPass().catch((error: unknown) =>
        this.logger.warn(`admission pass failed: ${String(error)}`),
      );
    });
    this.stopTimer = scheduleInterval(
      this.clock,
      this.schedules,
      ADMISSION_TIMER,
      this.config.ODC_ADMISSION_INTERVAL_SECONDS * 1000,
      () =>
        this.requestPass().catch((error: unknown) =>
          this.logger.warn(`admission pass failed: ${String(error)}`),
        ),
    );
  }

  onModuleDestroy(): void {
    this.stopTimer?.();
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
      // Requests that arrive within MIN_PASS_GAP_MS of a pass's start share the next pass.
      const wait = this.lastPassStart + MIN_PASS_GAP_MS - performance.now();
      if (wait > 0) {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      this.lastPassStart = performance.now();
      const result = await this.admission.pass(this.clock.now());
      if (result.admitted > 0 || result.contended > 0) {
        this.logger.debug({ ...result }, 'admission pass');
      }
    } while (this.again);
  }
}
