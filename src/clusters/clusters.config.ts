import { Transform } from 'class-transformer';
import { IsInt, IsNumber, Max, Min } from 'class-validator';
import { toNumber } from '../infra/config/config-decorators';

/** The cluster registry, its health checks, and the coordinator's clients of the clusters' deployers. */
export class ClustersConfig {
  /** Every replica re-reads the cluster registry this often, besides LISTEN/NOTIFY. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_REGISTRY_POLL_SECONDS = 30;

  /** Health check of every enabled cluster, and capacity sync of the healthy ones (cron, exactly once). */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(3600)
  ODC_CLUSTER_HEALTH_INTERVAL_SECONDS = 30;

  /**
   * Calls to a deployer: connect timeout; the request timeout (to the answer's headers, and between
   * chunks of its body: each try, not the whole call with its retries); calls in flight per cluster.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  ODC_DEPLOYER_CLIENT_CONNECT_TIMEOUT_MS = 5_000;

  @Transform(toNumber)
  @IsInt()
  @Min(100)
  ODC_DEPLOYER_CLIENT_TIMEOUT_MS = 30_000;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  ODC_DEPLOYER_CLIENT_CONCURRENCY = 16;

  /**
   * Status lists (`GET /deployments?external_id=…`, up to 100 deployments each) in flight at once
   * per cluster: a status round over thousands of reservations asks in turns, not all at once, and
   * leaves the cluster's other connections to applies and deletes. At most
   * ODC_DEPLOYER_CLIENT_CONCURRENCY counts (the connections are shared).
   */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  ODC_DEPLOYER_CLIENT_STATUS_CONCURRENCY = 2;

  /** Retries of an idempotent call (exponential backoff with jitter, from 200 ms). */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10)
  ODC_DEPLOYER_CLIENT_RETRIES = 3;

  /** Consecutive failures that open a cluster's circuit, and how long it stays open before a probe. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_DEPLOYER_CLIENT_BREAKER_FAILURES = 5;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  ODC_DEPLOYER_CLIENT_BREAKER_OPEN_SECONDS = 30;
}
