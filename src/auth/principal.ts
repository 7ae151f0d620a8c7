import type { ApiKeyScope } from './api-keys/api-key.entity';

/** Who is calling, however they proved it; resource services check ownership against it. */
export interface Principal {
  userId: string;
  username: string;
  admin: boolean;
  via: 'api_key' | 'jwt' | 'session';
  /** An API key's scopes; other credentials act with everything the user may do. */
  scopes: readonly ApiKeyScope[] | 'all';
  apiKeyId?: string;
}

export function hasScope(principal: Principal, scope: ApiKeyScope): boolean {
  return principal.scopes === 'all' || principal.scopes.includes(scope);
}
