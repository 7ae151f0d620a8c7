import { type DynamicModule, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock';

/** The app's one clock, global: the real one unless a test hands in its own. */
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: ClockModule,
      global: true,
      providers: [{ provide: Clock, useValue: clock }],
      exports: [Clock],
    };
  }
}
