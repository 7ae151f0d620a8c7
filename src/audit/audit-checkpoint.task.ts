import { Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { request } from 'undici';
import { AuditConfig } from './audit.config';
import { ExclusiveTaskRunner } from '../infra/cron/exclusive-task.runner';
import { PeriodicTask } from '../infra/cron/periodic-task';
import { MetricsService } from '../infra/metrics/metrics.service';
import type { Checkpoint } from './audit-chain';
import { AuditService } from './audit.service';

export const AUDIT_CHECKPOINT_TASK = 'audit.checkpoint';
const POST_TIMEOUT_MS = 10_000;

/**
 * Cron (exactly once across replicas), at start and every ODC_AUDIT_CHECKPOINT_SECONDS: the
 * chain's head is signed and stored, and copied where a database writer cannot reach it: a log
 * line, the metrics (a shrinking `odc_audit_chain_rows` is a truncation) and, when configured,
 * ODC_AUDIT_CHECKPOINT_URL. Any copy can be handed back to `POST /api/v1/audit/verify`.
 */
@Injectable()
export class AuditCheckpointTask extends PeriodicTask {
  private readonly logger = new Logger('AuditCheckpoint');
  private readonly rows: Gauge;
  private readonly head: Gauge<'last_id' | 'head' | 'at' | 'key_id' | 'signature'>;

  constructor(
    private readonly audit: AuditService,
    private readonly config: AuditConfig,
    runner: ExclusiveTaskRunner,
    metrics: MetricsService,
  ) {
    super(runner, AUDIT_CHECKPOINT_TASK, config.ODC_AUDIT_CHECKPOINT_SECONDS * 1000, { runAtStart: true });
    this.rows = new Gauge({
      name: 'odc_audit_chain_rows',
      help: 'Rows in the audit chain at the last signed checkpoint (it never goes down unless rows were deleted)',
      registers: [metrics.registry],
    });
    this.head = new Gauge({
      name: 'odc_audit_checkpoint_info',
      help: 'The last signed checkpoint of the audit chain, in its labels (POST it to /api/v1/audit/verify)',
      labelNames: ['last_id', 'head', 'at', 'key_id', 'signature'],
      registers: [metrics.registry],
    });
  }

  protected runRound(): Promise<Checkpoint> {
    return this.checkpoint();
  }

  async checkpoint(): Promise<Checkpoint> {
    const checkpoint = await this.audit.checkpoint();
    this.logger.log({ checkpoint }, 'audit chain checkpoint');
    this.rows.set(checkpoint.rows);
    this.head.reset();
    this.head.set(
      {
        last_id: checkpoint.last_id,
        head: checkpoint.head,
        at: checkpoint.at,
        key_id: checkpoint.key_id,
        signature: checkpoint.signature,
      },
      checkpoint.rows,
    );
    await this.publish(checkpoint);
    return checkpoint;
  }

  /** A receiver that is down costs this copy only: the next round sends a newer checkpoint. */
  private async publish(checkpoint: Checkpoint): Promise<void> {
    const url = this.config.ODC_AUDIT_CHECKPOINT_URL;
    if (!url) {
      return;
    }
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'odc-audit-checkpoint' },
        body: JSON.stringify({ checkpoint }),
        headersTimeout: POST_TIMEOUT_MS,
        bodyTimeout: POST_TIMEOUT_MS,
      });
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        this.logger.warn(
          { status: response.statusCode },
          'the audit checkpoint receiver refused a checkpoint',
        );
      }
    } catch (error) {
      this.logger.warn(
        { error: (error as Error).message },
        'the audit checkpoint receiver could not be reached',
      );
    }
  }
}
