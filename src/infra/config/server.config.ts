import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { emptyToUndefined, IsPort, toNumber } from './config-decorators';

export type NodeEnv = 'development' | 'production' | 'test';

/** The process and its HTTP listeners: how it runs, where the API and ops ports are, how it stops. */
export class ServerConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: NodeEnv = 'development';

  @IsString()
  ODC_HOST = '0.0.0.0';

  @IsPort()
  ODC_PORT = 8080;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsPort()
  ODC_OPS_PORT?: number;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3600)
  ODC_SHUTDOWN_TIMEOUT_SECONDS = 25;

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'ODC_HTTP_BODY_LIMIT must look like 512kb or 1mb' })
  ODC_HTTP_BODY_LIMIT = '1mb';

  /** Hops of reverse proxies to trust for the client IP (X-Forwarded-For) and https (X-Forwarded-Proto). */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10)
  ODC_TRUST_PROXY_HOPS = 0;
}
