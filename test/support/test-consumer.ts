import { Injectable, Module, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'pg-boss';
import { QueueService } from '../../src/infra/queue/queue.service';

export interface EchoJob {
  n: number;
  holdMs?: number;
}

/** Records what a worker processed, so tests can see consumption (and its absence). */
export class ConsumerProbe {
  readonly started: number[] = [];
  readonly finished: number[] = [];
}

export const TEST_QUEUE = 'test.echo';

export function testConsumerModule(probe: ConsumerProbe): DynamicModule {
  @Injectable()
  class EchoConsumer implements OnApplicationBootstrap {
    constructor(private readonly queue: QueueService) {}

    async onApplicationBootstrap(): Promise<void> {
      await this.queue.defineQueue({ name: TEST_QUEUE, retryLimit: 3 });
      await this.queue.work<EchoJob>(TEST_QUEUE, {}, async (jobs: Job<EchoJob>[]) => {
        for (const job of jobs) {
          probe.started.push(job.data.n);
          await new Promise((resolve) => setTimeout(resolve, job.data.holdMs ?? 0));
          probe.finished.push(job.data.n);
        }
      });
    }
  }

  @Module({ providers: [EchoConsumer] })
  class TestConsumerModule {}

  return { module: TestConsumerModule };
}
