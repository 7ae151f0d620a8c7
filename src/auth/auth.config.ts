import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  registerDecorator,
  ValidateIf,
} from 'class-validator';
import { emptyToUndefined, Secret, toBoolean, toNumber } from '../infra/config/config-decorators';
import type { NodeEnv } from '../infra/config/server.config';
import { HTTP_URL } from '../infra/http/http-url';

/** The shape of one trusted JWT issuer in ODC_JWT_ISSUERS (checked here; used by ./jwt). */
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

/** Identity: OIDC login and its sessions, trusted JWT issuers, API keys, AWS IAM login, rate limits. */
export class AuthConfig {
  /** Read from ServerConfig: production requires a session secret with OIDC; the first admin is made in development only. */
  declare readonly NODE_ENV: NodeEnv;

  /** OpenID Provider for browser and CLI login (discovery at <issuer>/.well-known/openid-configuration). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(HTTP_URL, { message: 'ODC_OIDC_ISSUER must be an http(s) URL without query or fragment' })
  ODC_OIDC_ISSUER?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((env: AuthConfig) => env.ODC_OIDC_ISSUER !== undefined)
  @IsString({ message: 'ODC_OIDC_CLIENT_ID is required with ODC_OIDC_ISSUER' })
  ODC_OIDC_CLIENT_ID?: string;

  @Secret()
  @Transform(emptyToUndefined)
  @ValidateIf((env: AuthConfig) => env.ODC_OIDC_ISSUER !== undefined)
  @IsString({ message: 'ODC_OIDC_CLIENT_SECRET is required with ODC_OIDC_ISSUER' })
  ODC_OIDC_CLIENT_SECRET?: string;

  /** Where the provider sends the browser back: this API's /auth/callback as users reach it. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: AuthConfig) => env.ODC_OIDC_ISSUER !== undefined)
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
    (env: AuthConfig) =>
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

  get jwtIssuers(): TrustedIssuerConfig[] {
    return this.ODC_JWT_ISSUERS ? (parseTrustedIssuers(this.ODC_JWT_ISSUERS) ?? []) : [];
  }
}
