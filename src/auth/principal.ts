import type { ApiKeyScope } from './api-keys/api-key.entity';

/** Who is calling, however they proved it; resource services check ownership against it. */
export interface Principal {
  userId: string;
  username: string;
  admin: boolean;
  via: 'api_key' | 'jwt' | 'session';
  /**
   * What this credential may do: an API key's scopes, a login's (sessions), or what the trusted
   * issuer's configuration grants (JWTs). Never implied: every credential lists them.
   */
  scopes: readonly ApiKeyScope[];
  apiKeyId?: string;
  /** When an API key's life ends (what `gpu-dev doctor` warns about). */
  expiresAt?: Date;
}

export function hasScope(principal: Principal, scope: ApiKeyScope): boolean {
  return principal.scopes.includes(scope);
}
