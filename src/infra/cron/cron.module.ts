import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ExclusiveTaskRunner } from './exclusive-task.runner';

/** Composed only for the `cron` role: timers exist nowhere else. */
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [ExclusiveTaskRunner],
  exports: [ExclusiveTaskRunner],
})
export class CronModule {}
