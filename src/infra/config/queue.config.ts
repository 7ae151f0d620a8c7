import { Transform } from 'class-transformer';
import { IsInt, IsNumber, Max, Min } from 'class-validator';
import { toNumber } from './config-decorators';

/** The job queue (pg-boss). */
export class QueueConfig {
  @Transform(toNumber)
  @IsNumber()
  @Min(0.5)
  @Max(60)
  ODC_QUEUE_POLL_INTERVAL_SECONDS = 1;

  /**
   * Queue maintenance: how often jobs of a worker that died (no heartbeat) or that outlived their
   * expiry are failed back to retry. A killed worker's job runs again within this plus its heartbeat.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3600)
  ODC_QUEUE_MONITOR_INTERVAL_SECONDS = 15;
}
