import { Module } from '@nestjs/common';
import { ExclusiveTaskRunner } from './exclusive-task.runner';

/**
 * The exactly-once tick runner, composed for the `cron` role (its timers go to the SchedulerRegistry
 * the application's ScheduleModule provides).
 */
@Module({
  providers: [ExclusiveTaskRunner],
  exports: [ExclusiveTaskRunner],
})
export class CronModule {}
