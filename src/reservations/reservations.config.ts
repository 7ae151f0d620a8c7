import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsOptional, IsUrl, Matches, Max, Min } from 'class-validator';
import { commaList } from '../infra/config/comma-list';
import { emptyToUndefined, toBoolean, toNumber } from '../infra/config/config-decorators';
import type { StorageProviderName } from '../storage/public';

/**
 * Reservations: their lengths and per-user limits, admission, status and health sync, expiry and
 * its warnings, provisioning.
 */
export class ReservationsConfig {
  /** Read from StorageConfig: which provider a new reservation's disk is on. */
  declare readonly ODC_STORAGE_PROVIDER: StorageProviderName;

  /** The longest reservation asked for at once (a GPU type's own `max_hours` may be lower). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(24 * 30)
  ODC_RESERVATION_MAX_HOURS = 24;

  /** A reservation's whole life, extensions included. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(24 * 365)
  ODC_RESERVATION_MAX_LIFETIME_HOURS = 48;

  /** GPUs one user may hold and wait for at once (queued and live reservations), all types together. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_MAX_GPUS_PER_USER = 8;

  /** The same per GPU type, where it should be lower: `h100=4,b200=8`. */
  @Matches(/^$|^[a-z0-9][a-z0-9-]{0,31}=\d+(,[a-z0-9][a-z0-9-]{0,31}=\d+)*$/, {
    message: 'ODC_MAX_GPUS_PER_USER_BY_TYPE must look like h100=4,b200=8',
  })
  ODC_MAX_GPUS_PER_USER_BY_TYPE = '';

  /** Reservations one user may have waiting in the queue at once. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_MAX_QUEUED_PER_USER = 4;

  /** Admission passes run on new reservations and ended ones, and at least this often (worker). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_ADMISSION_INTERVAL_SECONDS = 5;

  /**
   * How long one replica reuses `/availability` and the head of `/queue` (aggregates over the whole
   * fleet and queue, the same for every caller) before computing them again; 0 computes per request.
   */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(60)
  ODC_SHARED_READS_MAX_AGE_SECONDS = 0.5;

  /** How often the cron asks each cluster for its reservations' status (one batched call per cluster). */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_STATUS_SYNC_INTERVAL_SECONDS = 2;

  /**
   * How often those rounds also ask after running reservations (a failed pod, a lost node, the
   * Jupyter URL); in between they ask only after the provisioning ones, so a round's cost follows
   * what is starting rather than everything running.
   */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_HEALTH_SYNC_INTERVAL_SECONDS = 10;

  /** Minutes before expiry at which the user is warned (notice file, webhook, event). */
  @Matches(/^$|^\d+(,\d+)*$/, {
    message: 'ODC_EXPIRY_WARNINGS must be a comma list of minutes, e.g. 30,15,5',
  })
  ODC_EXPIRY_WARNINGS = '30,15,5';

  /** After its expiry time a reservation runs this much longer before it is torn down. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  ODC_EXPIRY_GRACE_SECONDS = 120;

  /** How often the cron looks for warnings due, expiries and stuck or stale reservations. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_EXPIRY_INTERVAL_SECONDS = 15;

  /** Placing or provisioning longer than this → failed with the reason. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_PROVISIONING_TIMEOUT_MINUTES = 60;

  /** Queued longer than this → cancelled with the reason. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  ODC_QUEUED_TIMEOUT_HOURS = 48;

  /** Where expiry warnings and ends are POSTed as JSON (retried); none when unset. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'] },
    { message: 'ODC_NOTIFY_WEBHOOK_URL must be an http(s) URL' },
  )
  ODC_NOTIFY_WEBHOOK_URL?: string;

  get expiryWarningMinutes(): number[] {
    return [...new Set(commaList(this.ODC_EXPIRY_WARNINGS).map(Number))].sort((a, b) => b - a);
  }

  /** The image a reservation runs when it names none (it must run sshd with /etc/odc/authorized_keys). */
  @Matches(/^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)*$/, {
    message: 'ODC_DEFAULT_IMAGE must be an image reference',
  })
  ODC_DEFAULT_IMAGE = 'ghcr.io/open-developer-cloud/devbox:cuda12.4';

  /** Placements a reservation may bounce (a cluster refusing it before anything was created) before it fails. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100)
  ODC_MAX_PLACEMENT_ATTEMPTS = 5;

  /** A disk whose home cluster is full may start elsewhere from its latest snapshot (when that is current). */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_DISK_RESTORE_ELSEWHERE = true;

  /** Per GPU type, the per-user limit: ODC_MAX_GPUS_PER_USER_BY_TYPE, else ODC_MAX_GPUS_PER_USER. */
  maxGpusPerUserFor(gpuType: string): number {
    const byType = new Map(
      commaList(this.ODC_MAX_GPUS_PER_USER_BY_TYPE).map((entry) => {
        const [type, limit] = entry.split('=');
        return [type, Number(limit)] as const;
      }),
    );
    return Math.min(byType.get(gpuType) ?? this.ODC_MAX_GPUS_PER_USER, this.ODC_MAX_GPUS_PER_USER);
  }
}
