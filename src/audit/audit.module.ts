import { Module } from '@nestjs/common';
import { CronModule } from '../infra/cron/cron.module';
import { MetricsModule } from '../infra/metrics/metrics.module';
import { AuditCheckpointTask } from './audit-checkpoint.task';
import { AuditService } from './audit.service';

/** The audit log's writer and reader: one instance per process, so appends group-commit together. */
@Module({
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}

/** Role cron: signed checkpoints of the chain's head. */
@Module({
  imports: [AuditModule, CronModule, MetricsModule],
  providers: [AuditCheckpointTask],
})
export class AuditCronModule {}
