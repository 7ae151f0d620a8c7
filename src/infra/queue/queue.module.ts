import { type DynamicModule, Module } from '@nestjs/common';
import { QUEUE_SETTINGS, QueueService, type QueueSettings } from './queue.service';

@Module({})
export class QueueModule {
  static forRoot(settings: QueueSettings): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      providers: [{ provide: QUEUE_SETTINGS, useValue: settings }, QueueService],
      exports: [QueueService],
    };
  }
}
