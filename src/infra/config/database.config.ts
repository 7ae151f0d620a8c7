import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { emptyToUndefined, IsPostgresUrl, Secret, toBoolean, toNumber } from './config-decorators';

/**
 * The database. Whether DATABASE_URL is required depends on the roles (a deployer-only replica
 * needs none): that rule is the roles' (src/app/roles.config.ts).
 */
export class DatabaseConfig {
  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsPostgresUrl(
    'DATABASE_URL must be a postgres://user:password@host:port/database URL (required when NODE_ENV=production, unless the only role is deployer)',
  )
  DATABASE_URL?: string;

  @IsString()
  ODC_DATA_DIR = './.odc';

  @Transform(toBoolean)
  @IsBoolean()
  ODC_DB_SKIP_MIGRATIONS = false;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  ODC_DB_POOL_SIZE = 10;
}
