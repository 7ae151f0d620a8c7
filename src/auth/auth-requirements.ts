import type { Request } from 'express';
import type { ApiKeyScope } from './api-keys/api-key.entity';
import type { Principal } from './principal';

export const AUTH_REQUIREMENTS = Symbol('odc:auth-requirements');

export interface AuthRequirements {
  scopes: ApiKeyScope[];
  admin: boolean;
}

export type AuthenticatedRequest = Request & { principal?: Principal };
