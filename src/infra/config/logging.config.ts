import { Transform } from 'class-transformer';
import { IsIn, IsOptional } from 'class-validator';
import { emptyToUndefined } from './config-decorators';
import type { NodeEnv } from './server.config';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class LoggingConfig {
  /** Read from ServerConfig. */
  declare readonly NODE_ENV: NodeEnv;

  @IsIn(LOG_LEVELS)
  ODC_LOG_LEVEL: LogLevel = 'info';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['json', 'pretty'])
  ODC_LOG_FORMAT?: 'json' | 'pretty';

  get logFormat(): 'json' | 'pretty' {
    return this.ODC_LOG_FORMAT ?? (this.NODE_ENV === 'development' ? 'pretty' : 'json');
  }
}
