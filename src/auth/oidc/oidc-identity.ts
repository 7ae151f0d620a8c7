import type { JWTPayload } from 'jose';
import { commaList } from '../../infra/config/comma-list';
import { normalizeUsername } from '../aws/aws-principal';

/** Who an OpenID Provider says logged in, as ODC keeps it. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  username: string;
  email: string | null;
  /** A group named in ODC_OIDC_ADMIN_GROUPS is in the groups claim. */
  adminByClaims: boolean;
  /** The claims kept on the user (the nonce and token hashes dropped). */
  claims: Record<string, unknown>;
}

export interface OidcClaimSettings {
  ODC_OIDC_USERNAME_CLAIM: string;
  ODC_OIDC_GROUPS_CLAIM: string;
  ODC_OIDC_ADMIN_GROUPS: string;
}

/** Per-login values that say nothing about the person. */
const TRANSIENT_CLAIMS = new Set(['nonce', 'at_hash', 'c_hash', 's_hash', 'sid', 'jti', 'exp', 'iat', 'nbf']);

/**
 * The identity in verified claims (the ID token's, over the userinfo endpoint's): the username
 * from the configured claim, else the email's local part, else the subject, normalised to
 * `[a-z0-9._-]`; undefined when none gives a usable name.
 */
export function oidcIdentityFrom(claims: JWTPayload, settings: OidcClaimSettings): OidcIdentity | undefined {
  if (typeof claims.iss !== 'string' || typeof claims.sub !== 'string' || claims.sub === '') {
    return undefined;
  }
  const email = typeof claims.email === 'string' ? claims.email : null;
  const username = [claims[settings.ODC_OIDC_USERNAME_CLAIM], email, claims.sub]
    .filter((value): value is string => typeof value === 'string')
    .map((value) => normalizeUsername(value))
    .find((value) => value !== undefined);
  if (!username) {
    return undefined;
  }
  const adminGroups = new Set(commaList(settings.ODC_OIDC_ADMIN_GROUPS));
  return {
    issuer: claims.iss,
    subject: claims.sub,
    username,
    email,
    adminByClaims: groupsIn(claims[settings.ODC_OIDC_GROUPS_CLAIM]).some((group) => adminGroups.has(group)),
    claims: Object.fromEntries(Object.entries(claims).filter(([name]) => !TRANSIENT_CLAIMS.has(name))),
  };
}

/** A groups claim is a list of names, or (some providers, for one group) a single name. */
function groupsIn(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.filter((group): group is string => typeof group === 'string');
  }
  return typeof value === 'string' ? [value] : [];
}
