import 'reflect-metadata';
import { applyDecorators } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmpty,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  getMetadataStorage,
  registerDecorator,
  ValidateIf,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { DEFAULT_ROLES, needsDatabase, parseRoles, type Role } from '../../app/roles';
import { SIZE_QUANTITY } from '../kubernetes/quantity';
import { HTTP_URL } from '../http/http-url';
import { commaList } from './comma-list';
import { STORAGE_PROVIDERS, type StorageProviderName } from '../../storage/providers/storage-provider';

const secretKeys = new Set<string>();

/** Marks a variable whose value must never be printed (logs, errors, responses). */
function Secret(): PropertyDecorator {
  return (_target, key) => {
    secretKeys.add(String(key));
  };
}

function toBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') {
    return value;
  }
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) {
    return true;
  }
  if (['false', '0', 'no', 'off', ''].includes(normalized)) {
    return false;
  }
  return value;
}

// Numbers are converted only when the whole string is numeric, so "8080abc" fails validation
// instead of silently becoming 8080.
function toNumber({ value }: { value: unknown }): unknown {
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) {
    return Number(value);
  }
  return value;
}

function emptyToUndefined({ value }: { value: unknown }): unknown {
  return value === '' ? undefined : value;
}

function isPostgresUrl(value: unknown): boolean {
  try {
    const url = new URL(String(value));
    return ['postgres:', 'postgresql:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A postgres:// URL with a host (the port, if any, in range): what `pg` will actually connect with. */
function IsPostgresUrl(): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isPostgresUrl',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: { validate: isPostgresUrl },
      options: {
        message:
          'DATABASE_URL must be a postgres://user:password@host:port/database URL (required when NODE_ENV=production, unless the only role is deployer)',
      },
    });
  };
}

/** A number no larger than another setting's (both numbers: their own checks report the rest). */
function NotAbove(other: string): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'notAbove',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown, args) => {
          const limit = (args?.object as Record<string, unknown> | undefined)?.[other];
          return typeof value !== 'number' || typeof limit !== 'number' || value <= limit;
        },
      },
      options: { message: `${String(propertyName)} must not be above ${other}` },
    });
  };
}

/** A 32-byte key, base64 (44 characters) or hex (64): ODC_MASTER_KEY and ODC_AUDIT_KEY. */
const KEY_32_TEXT = '(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})';
const KEY_32 = new RegExp(`^${KEY_32_TEXT}$`);
/** A comma list of them (or nothing): the previous keys that still decrypt or verify. */
const KEY_32_LIST = new RegExp(`^(?:${KEY_32_TEXT}(?:\\s*,\\s*${KEY_32_TEXT})*)?$`);

/** The shape of one trusted JWT issuer in ODC_JWT_ISSUERS (checked here; used by src/auth/jwt). */
export interface TrustedIssuerConfig {
  issuer: string;
  audience: string;
  /** Default: the jwks_uri of the issuer's OpenID configuration (<issuer>/.well-known/openid-configuration). */
  jwks_uri?: string;
  /**
   * The claim that names a user made at first sight (default `sub`), e.g. `repository` for GitHub
   * Actions. The user is decided by the token's (issuer, sub) alone.
   */
  username_claim?: string;
  /**
   * Claims that must have exactly these values. Needed for shared issuers: any GitHub repository
   * gets Actions tokens for any audience, so pin e.g. `{"repository_owner": "my-org"}`.
   */
  required_claims?: Record<string, string>;
  /**
   * What its tokens may do (API key scope names, or `*` for every scope). Default: reservations
   * and disks read/write. Checked against the scope names where they are defined (src/auth).
   */
  scopes?: string[];
}

function requiredClaimsValid(value: unknown): boolean {
  return (
    value === undefined ||
    (typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.values(value).every((claim) => typeof claim === 'string'))
  );
}

function scopesValid(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.every((scope) => typeof scope === 'string'));
}

function parseTrustedIssuers(value: string): TrustedIssuerConfig[] | undefined {
  try {
    const parsed = JSON.parse(value) as unknown;
    const valid =
      Array.isArray(parsed) &&
      parsed.every(
        (entry: unknown) =>
          typeof entry === 'object' &&
          entry !== null &&
          typeof (entry as TrustedIssuerConfig).issuer === 'string' &&
          /^https?:\/\//.test((entry as TrustedIssuerConfig).issuer) &&
          typeof (entry as TrustedIssuerConfig).audience === 'string' &&
          ['undefined', 'string'].includes(typeof (entry as TrustedIssuerConfig).jwks_uri) &&
          ['undefined', 'string'].includes(typeof (entry as TrustedIssuerConfig).username_claim) &&
          requiredClaimsValid((entry as TrustedIssuerConfig).required_claims) &&
          scopesValid((entry as TrustedIssuerConfig).scopes),
      );
    return valid ? (parsed as TrustedIssuerConfig[]) : undefined;
  } catch {
    return undefined;
  }
}

function IsTrustedIssuerList(): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isTrustedIssuerList',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseTrustedIssuers(value) !== undefined,
      },
      options: {
        message:
          'ODC_JWT_ISSUERS must be a JSON list of {"issuer": "https://…", "audience": "…", "jwks_uri"?: "…", "username_claim"?: "…", "required_claims"?: {"claim": "value"}, "scopes"?: ["scope", …]}',
      },
    });
  };
}

/** A TCP port; 0 asks the OS for a free one (tests). */
function IsPort(): PropertyDecorator {
  return applyDecorators(Transform(toNumber), IsInt(), Min(0), Max(65535));
}

function IsRoleList(): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isRoleList',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate(value: unknown) {
          try {
            parseRoles(String(value));
            return true;
          } catch {
            return false;
          }
        },
        defaultMessage(args) {
          try {
            parseRoles(String(args?.value));
            return '';
          } catch (error) {
            return (error as Error).message;
          }
        },
      },
    });
  };
}

function rolesNeedDatabase(value: string): boolean {
  try {
    return needsDatabase(parseRoles(value));
  } catch {
    return true; // the roles themselves are reported as invalid
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every environment variable ODC reads, validated once at boot. Documented one per line in
 * `.env.example`; nothing else in the code reads `process.env`.
 */
export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IsRoleList()
  ODC_ROLES: string = DEFAULT_ROLES;

  @IsString()
  ODC_HOST = '0.0.0.0';

  @IsPort()
  ODC_PORT = 8080;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsPort()
  ODC_OPS_PORT?: number;

  @IsString()
  ODC_DEPLOYER_HOST = '127.0.0.1';

  @IsPort()
  ODC_DEPLOYER_PORT = 8443;

  @Secret()
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: AppConfig) =>
      (env.NODE_ENV === 'production' && rolesNeedDatabase(env.ODC_ROLES)) || env.DATABASE_URL !== undefined,
  )
  @IsPostgresUrl()
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

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3600)
  ODC_SHUTDOWN_TIMEOUT_SECONDS = 25;

  @IsIn(LOG_LEVELS)
  ODC_LOG_LEVEL: LogLevel = 'info';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['json', 'pretty'])
  ODC_LOG_FORMAT?: 'json' | 'pretty';

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'ODC_HTTP_BODY_LIMIT must look like 512kb or 1mb' })
  ODC_HTTP_BODY_LIMIT = '1mb';

  /** Namespaces the deployer may write to (comma list); everything else is refused by policy. */
  @Matches(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(,[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: 'ODC_DEPLOYER_NAMESPACES must be a comma list of namespace names',
  })
  ODC_DEPLOYER_NAMESPACES = 'default';

  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ODC_DEPLOYER_TOKEN must be at least 16 characters (it guards pod creation)' })
  ODC_DEPLOYER_TOKEN?: string;

  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_INSECURE = false;

  /** TLS for the deployer listener: PEM files of its certificate and key (both or neither). */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: AppConfig) => env.ODC_DEPLOYER_TLS_CERT !== undefined || env.ODC_DEPLOYER_TLS_KEY !== undefined,
  )
  @IsString({ message: 'ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY go together' })
  ODC_DEPLOYER_TLS_CERT?: string;

  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: AppConfig) => env.ODC_DEPLOYER_TLS_CERT !== undefined || env.ODC_DEPLOYER_TLS_KEY !== undefined,
  )
  @IsString({ message: 'ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY go together' })
  ODC_DEPLOYER_TLS_KEY?: string;

  /** PEM file of the CA that signs coordinator client certificates: set, the deployer requires mTLS. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: AppConfig) => env.ODC_DEPLOYER_CLIENT_CA !== undefined)
  @IsString()
  @Matches(/.+/, { message: 'ODC_DEPLOYER_CLIENT_CA needs ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY' })
  ODC_DEPLOYER_CLIENT_CA?: string;

  /** Client certificate common names accepted (comma list); empty: any certificate the CA signed. */
  @IsString()
  @ValidateIf(
    (env: AppConfig) =>
      env.ODC_DEPLOYER_ALLOWED_CLIENT_CNS !== '' && env.ODC_DEPLOYER_CLIENT_CA === undefined,
  )
  @IsEmpty({
    message: 'ODC_DEPLOYER_ALLOWED_CLIENT_CNS needs ODC_DEPLOYER_CLIENT_CA (it filters client certificates)',
  })
  ODC_DEPLOYER_ALLOWED_CLIENT_CNS = '';

  /**
   * Host names the deployer API answers besides loopback ones (comma list; `*`: any). Empty: loopback
   * names only when it binds a loopback address or starts for development, else any.
   */
  @Matches(/^(\*|[-a-zA-Z0-9.:[\]]+(,[-a-zA-Z0-9.:[\]]+)*)?$/, {
    message: 'ODC_DEPLOYER_ALLOWED_HOSTS must be a comma list of host names, or *',
  })
  ODC_DEPLOYER_ALLOWED_HOSTS = '';

  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_KUBECONFIG_BASE64?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  KUBECONFIG?: string;

  /** With no kubeconfig and not in a cluster: an in-process simulated GPU cluster. Default: on in development. */
  @Transform(emptyToUndefined)
  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean()
  ODC_DEPLOYER_SIMULATOR?: boolean;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(64)
  ODC_DEPLOYER_MAX_GPUS = 8;

  @IsString()
  ODC_DEPLOYER_MAX_CPU = '192';

  @IsString()
  ODC_DEPLOYER_MAX_MEMORY = '2Ti';

  /** Largest volume (claim or static PV) the deployer creates, as a Kubernetes quantity. */
  @Matches(SIZE_QUANTITY, {
    message: 'ODC_DEPLOYER_MAX_VOLUME_SIZE must be a Kubernetes quantity such as 16Ti',
  })
  ODC_DEPLOYER_MAX_VOLUME_SIZE = '16Ti';

  /** CSI drivers a static PersistentVolume may name (comma list): they can attach existing volumes by id. */
  @IsString()
  ODC_DEPLOYER_ALLOWED_CSI_DRIVERS = 'ebs.csi.aws.com,pd.csi.storage.gke.io';

  /** Linux capabilities a container may add (comma list); none by default. */
  @IsString()
  ODC_DEPLOYER_ALLOWED_CAPABILITIES = '';

  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_ALLOW_LOADBALANCER = false;

  /** NodePort Services (a common way to reach SSH on a dev pod); off: ClusterIP/Ingress only. */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_ALLOW_NODEPORT = true;

  /**
   * Generic ephemeral volumes (a claim made per pod from `ephemeral.volumeClaimTemplate`); held to
   * the same rules as the spec's claims. Off: refused (the coordinator's pods use none).
   */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_DEPLOYER_ALLOW_EPHEMERAL_VOLUMES = false;

  /** Replicas a Deployment may ask for (a dev environment is one pod). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100)
  ODC_DEPLOYER_MAX_REPLICAS = 1;

  /** The only service account pods may run as (their API token is never mounted). */
  @Matches(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    message: 'ODC_DEPLOYER_POD_SERVICE_ACCOUNT must be a service account name',
  })
  ODC_DEPLOYER_POD_SERVICE_ACCOUNT = 'default';

  /** Node label that names a node's GPU model, for /capacity. */
  @IsString()
  ODC_DEPLOYER_GPU_LABEL = 'nvidia.com/gpu.product';

  /** Client-side rate limit of the deployer's Kubernetes calls: sustained requests per second… */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(10000)
  ODC_DEPLOYER_KUBE_QPS = 100;

  /** …and how many may go at once above that rate after a quiet spell. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(10000)
  ODC_DEPLOYER_KUBE_BURST = 200;

  /**
   * Lambda mode: Secrets Manager secret (name or ARN) holding the kubeconfig. Named as the deployer
   * ODC replaces named it, not ODC_…, so its Lambda configuration still works.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  KUBECONFIG_SECRET?: string;

  /** Lambda mode without KUBECONFIG_SECRET: the EKS cluster to mint a token for from the function's IAM role. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_EKS_CLUSTER_NAME?: string;

  /** AWS region (set by Lambda itself); used by the Secrets Manager, EKS and STS clients. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  AWS_REGION?: string;

  // --- Identity (src/auth, src/audit) ---

  /** OpenID Provider for browser and CLI login (discovery at <issuer>/.well-known/openid-configuration). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'ODC_OIDC_ISSUER must be an http(s) URL without query or fragment' })
  ODC_OIDC_ISSUER?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((env: AppConfig) => env.ODC_OIDC_ISSUER !== undefined)
  @IsString({ message: 'ODC_OIDC_CLIENT_ID is required with ODC_OIDC_ISSUER' })
  ODC_OIDC_CLIENT_ID?: string;

  @Secret()
  @Transform(emptyToUndefined)
  @ValidateIf((env: AppConfig) => env.ODC_OIDC_ISSUER !== undefined)
  @IsString({ message: 'ODC_OIDC_CLIENT_SECRET is required with ODC_OIDC_ISSUER' })
  ODC_OIDC_CLIENT_SECRET?: string;

  /** Where the provider sends the browser back: this API's /auth/callback as users reach it. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: AppConfig) => env.ODC_OIDC_ISSUER !== undefined)
  @Matches(/^https?:\/\/\S+\/auth\/callback$/, {
    message: 'ODC_OIDC_REDIRECT_URL is required with ODC_OIDC_ISSUER and must end in /auth/callback',
  })
  ODC_OIDC_REDIRECT_URL?: string;

  /** Groups (comma list) whose members are admins; matched against ODC_OIDC_GROUPS_CLAIM. */
  @IsString()
  ODC_OIDC_ADMIN_GROUPS = '';

  @IsString()
  ODC_OIDC_GROUPS_CLAIM = 'groups';

  /** Scopes asked for at login (space list); add the one that releases the groups claim, if any. */
  @IsString()
  @Matches(/(^|\s)openid(\s|$)/, { message: 'ODC_OIDC_SCOPES must include openid' })
  ODC_OIDC_SCOPES = 'openid profile email';

  /** The claim that becomes the ODC username (falls back to email's local part, then sub). */
  @IsString()
  ODC_OIDC_USERNAME_CLAIM = 'preferred_username';

  /** Signs session cookies; required in production when ODC_OIDC_ISSUER is set. */
  @Secret()
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: AppConfig) =>
      env.ODC_SESSION_SECRET !== undefined ||
      (env.NODE_ENV === 'production' && env.ODC_OIDC_ISSUER !== undefined),
  )
  @IsString()
  @Matches(/^.{32,}$/, {
    message: 'ODC_SESSION_SECRET must be at least 32 characters (required for OIDC in production)',
  })
  ODC_SESSION_SECRET?: string;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(720)
  ODC_SESSION_TTL_HOURS = 12;

  /** Bearer JWTs accepted from these issuers (JSON list; see .env.example for GitHub Actions). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsTrustedIssuerList()
  ODC_JWT_ISSUERS?: string;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(8760)
  ODC_API_KEY_DEFAULT_TTL_HOURS = 24;

  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(8760)
  ODC_API_KEY_MAX_TTL_HOURS = 720;

  /** Legacy login with a presigned STS GetCallerIdentity request (never raw AWS keys). */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_AWS_IAM_AUTH_ENABLED = false;

  /** IAM roles (comma list of names or ARNs; prefer ARNs: a bare name matches any account) whose sessions may log in that way. */
  @IsString()
  ODC_AWS_ALLOWED_ROLES = '';

  /** STS endpoint the presigned request must target (default: the regional AWS endpoints); tests point it at a fake. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'ODC_AWS_STS_ENDPOINT must be an http(s) URL' })
  ODC_AWS_STS_ENDPOINT?: string;

  /** Per route, client IP and minute (per replica): login and key-issuing calls, and every API route (429 with Retry-After). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_RATE_LIMIT_LOGIN_PER_MINUTE = 20;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_RATE_LIMIT_API_PER_MINUTE = 1200;

  /**
   * Keys the audit chain's HMACs (32 bytes, base64 or hex). Unset: a key derived from ODC_MASTER_KEY.
   * Whoever holds it (and can write the database) can rewrite the log undetected: keep it apart.
   */
  @Secret()
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(KEY_32, {
    message: 'ODC_AUDIT_KEY must be 32 bytes, base64 (44 characters) or hex (64)',
  })
  ODC_AUDIT_KEY?: string;

  /** Earlier audit keys (comma list): rows under them still verify. */
  @Secret()
  @IsString()
  @Matches(KEY_32_LIST, {
    message: 'ODC_AUDIT_KEYS_PREVIOUS must be a comma list of 32-byte keys (base64 or hex)',
  })
  ODC_AUDIT_KEYS_PREVIOUS = '';

  /** How often (cron) the chain's head is signed, stored, logged and exported as a metric. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_AUDIT_CHECKPOINT_SECONDS = 300;

  /** Where each signed checkpoint is also POSTed as JSON (outside the database); none when unset. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'] },
    { message: 'ODC_AUDIT_CHECKPOINT_URL must be an http(s) URL' },
  )
  ODC_AUDIT_CHECKPOINT_URL?: string;

  /** Hops of reverse proxies to trust for the client IP (X-Forwarded-For) and https (X-Forwarded-Proto). */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10)
  ODC_TRUST_PROXY_HOPS = 0;

  // --- Cluster registry and the coordinator's deployer clients (src/clusters) ---

  /**
   * Encrypts cluster private keys and tokens (AES-256-GCM): 32 random bytes, base64 or hex
   * (`openssl rand -base64 32`). Required in production; development falls back to a fixed,
   * public key.
   */
  @Secret()
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: AppConfig) =>
      env.ODC_MASTER_KEY !== undefined || (env.NODE_ENV === 'production' && rolesNeedDatabase(env.ODC_ROLES)),
  )
  @IsString({ message: 'ODC_MASTER_KEY is required in production' })
  @Matches(KEY_32, {
    message: 'ODC_MASTER_KEY must be 32 bytes, base64 (44 characters) or hex (64)',
  })
  ODC_MASTER_KEY?: string;

  /** Earlier master keys (comma list), still accepted for decryption until `npm run keys:rotate`. */
  @Secret()
  @IsString()
  @Matches(KEY_32_LIST, {
    message: 'ODC_MASTER_KEYS_PREVIOUS must be a comma list of 32-byte keys (base64 or hex)',
  })
  ODC_MASTER_KEYS_PREVIOUS = '';

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

  /** Where disks' volumes and snapshots live (src/storage/providers): k8s-csi through the deployers, or EBS. */
  @IsIn(STORAGE_PROVIDERS)
  ODC_STORAGE_PROVIDER: StorageProviderName = 'k8s-csi';

  /** A new disk's size when the request names none. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(65536)
  @NotAbove('ODC_DISK_MAX_SIZE_GB')
  ODC_DISK_DEFAULT_SIZE_GB = 100;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(65536)
  ODC_DISK_MAX_SIZE_GB = 2048;

  /** Live disks per user. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  ODC_MAX_DISKS_PER_USER = 10;

  /** GB across a user's live disks. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_MAX_DISK_GB_PER_USER = 4096;

  /** How long a snapshot at the end of a reservation may take before the disk is released without it (the failure is recorded). */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_DISK_SNAPSHOT_TIMEOUT_SECONDS = 3600;

  /** A soft-deleted disk's volume and snapshots are kept this long. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  ODC_DISK_DELETE_GRACE_DAYS = 30;

  /** A disk whose home cluster is full may start elsewhere from its latest snapshot (when that is current). */
  @Transform(toBoolean)
  @IsBoolean()
  ODC_DISK_RESTORE_ELSEWHERE = true;

  /** Retention: the newest snapshots kept per disk, whatever their age. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  ODC_SNAPSHOT_KEEP = 3;

  /** Retention: snapshots beyond the newest ODC_SNAPSHOT_KEEP are deleted after this many days. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  ODC_SNAPSHOT_MAX_AGE_DAYS = 7;

  /** How often the storage cron re-drives releases and snapshots, applies retention and purges deleted disks. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  ODC_STORAGE_INTERVAL_SECONDS = 30;

  /** How often the reconciler compares the database with the clusters' (and the cloud's) volumes and snapshots. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  ODC_STORAGE_RECONCILE_INTERVAL_SECONDS = 900;

  /** aws-ebs: the region of the EBS volumes and of every cluster that mounts them. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: AppConfig) => env.ODC_STORAGE_PROVIDER === 'aws-ebs')
  @Matches(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'ODC_AWS_REGION must be an AWS region like us-east-2' })
  ODC_AWS_REGION?: string;

  /** aws-ebs: the EBS volume type of new volumes. */
  @IsIn(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1'])
  ODC_EBS_VOLUME_TYPE = 'gp3';

  @Transform(emptyToUndefined)
  @Transform(toNumber)
  @IsOptional()
  @IsInt()
  @Min(100)
  ODC_EBS_IOPS?: number;

  /** aws-ebs, gp3: MiB/s. */
  @Transform(emptyToUndefined)
  @Transform(toNumber)
  @IsOptional()
  @IsInt()
  @Min(125)
  ODC_EBS_THROUGHPUT?: number;

  /** aws-ebs: new volumes are encrypted with this KMS key (id or ARN). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  ODC_EBS_KMS_KEY_ID?: string;

  /** aws-ebs: the CSI driver the static PersistentVolumes name (the deployers' policy must allow it). */
  @Matches(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'ODC_EBS_CSI_DRIVER must be a CSI driver name' })
  ODC_EBS_CSI_DRIVER = 'ebs.csi.aws.com';

  @IsIn(['ext4', 'xfs'])
  ODC_EBS_FS_TYPE = 'ext4';

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

  get jwtIssuers(): TrustedIssuerConfig[] {
    return this.ODC_JWT_ISSUERS ? (parseTrustedIssuers(this.ODC_JWT_ISSUERS) ?? []) : [];
  }

  get roles(): ReadonlySet<Role> {
    return parseRoles(this.ODC_ROLES);
  }

  get deployerSimulator(): boolean {
    return this.ODC_DEPLOYER_SIMULATOR ?? this.NODE_ENV === 'development';
  }

  get logFormat(): 'json' | 'pretty' {
    return this.ODC_LOG_FORMAT ?? (this.NODE_ENV === 'development' ? 'pretty' : 'json');
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type EnvSource = Record<string, string | undefined>;

/** The process environment, over a `.env` file in the working directory when there is one. */
export function readEnvironment(cwd = process.cwd()): EnvSource {
  const file = `${cwd}/.env`;
  const fromFile =
    process.env.NODE_ENV !== 'test' && existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

function describeProblem(error: ValidationError): string {
  const shown = secretKeys.has(error.property) ? '***' : JSON.stringify(error.value);
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  return `${error.property}: ${reasons} (got ${shown})`;
}

/** The variable names, from the validation metadata (so optional fields without defaults count too). */
export function configKeys(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(AppConfig, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}

/**
 * A copy of a loaded config with some values replaced (a start's own token, a driver its own
 * simulated cluster adds): frozen like the original, its getters intact, the original untouched.
 */
export function configWith(config: AppConfig, overrides: Partial<AppConfig>): AppConfig {
  const copy = Object.assign(
    Object.create(Object.getPrototypeOf(config) as object) as AppConfig,
    config,
    overrides,
  );
  return Object.freeze(copy);
}

/** Validates the environment; throws a ConfigError listing every problem at once. */
export function loadConfig(source: EnvSource = readEnvironment()): AppConfig {
  const known = configKeys();
  const relevant = Object.fromEntries(
    Object.entries(source).filter(([key, value]) => known.includes(key) && value !== undefined),
  );
  const config = plainToInstance(AppConfig, relevant);
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigError(errors.map(describeProblem));
  }
  return Object.freeze(config);
}

function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) {
      url.password = '***';
    }
    return url.toString();
  } catch {
    return '***';
  }
}

/** The configuration as it may be logged: secrets masked, URLs keep host and database. */
export function describeConfig(config: AppConfig): Record<string, unknown> {
  return Object.fromEntries(
    configKeys().map((key) => {
      const value = (config as unknown as Record<string, unknown>)[key];
      if (value === undefined || !secretKeys.has(key)) {
        return [key, value];
      }
      return [key, key.endsWith('_URL') && typeof value === 'string' ? maskUrlPassword(value) : '***'];
    }),
  );
}
