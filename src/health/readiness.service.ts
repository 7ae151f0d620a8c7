import { Injectable, Optional } from '@nestjs/common';
import {
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { QueueService } from '../infra/queue/queue.service';

const CHECK_TIMEOUT_MS = 2000;

/** What "ready" means for this replica: only the parts its roles actually use are checked. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly typeOrm: TypeOrmHealthIndicator,
    @Optional() private readonly dataSource?: DataSource,
    @Optional() private readonly queue?: QueueService,
  ) {}

  checks(): HealthIndicatorFunction[] {
    const checks: HealthIndicatorFunction[] = [];
    const dataSource = this.dataSource;
    if (dataSource) {
      checks.push(() => this.typeOrm.pingCheck('database').withTimeout(CHECK_TIMEOUT_MS));
      checks.push(() =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            if (await dataSource.showMigrations()) {
              throw new Error('migrations are pending');
            }
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      );
    }
    const queue = this.queue;
    if (queue) {
      checks.push(() =>
        this.indicators
          .check('queue')
          .attempt(async () => {
            if (!(await queue.isReady())) {
              throw new Error('queue is not started');
            }
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      );
    }
    return checks;
  }
}
