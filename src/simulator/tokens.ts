/**
 * Service-account tokens, as the TokenRequest API issues them. Opaque random strings kept in
 * memory, not JWTs: no client reads inside a token. Each is bound to its ServiceAccount's uid, so
 * it stops working when the account is deleted, even if one with the same name comes back, as a
 * real bound token does.
 */
import { randomBytes } from 'node:crypto';

export interface TokenHolder {
  namespace: string;
  name: string;
  uid: string;
}

export interface IssuedToken {
  token: string;
  expirationTimestamp: string;
}

/** Kubernetes' defaults: an hour unless asked otherwise, never less than ten minutes. */
export const DEFAULT_TOKEN_SECONDS = 3600;
export const MIN_TOKEN_SECONDS = 600;

export class ServiceAccountTokens {
  private readonly issued = new Map<string, TokenHolder & { expiresAt: number }>();

  issue(holder: TokenHolder, expirationSeconds: number, now = Date.now()): IssuedToken {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + expirationSeconds * 1000;
    this.issued.set(token, { ...holder, expiresAt });
    return { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  /** The account a token was issued to, while the token has not expired. */
  holderOf(token: string, now = Date.now()): TokenHolder | undefined {
    const entry = this.issued.get(token);
    if (entry && entry.expiresAt <= now) {
      this.issued.delete(token);
      return undefined;
    }
    return entry && { namespace: entry.namespace, name: entry.name, uid: entry.uid };
  }
}
