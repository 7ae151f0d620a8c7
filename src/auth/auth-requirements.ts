import type { Request } from 'express';
import type { ApiKeyScope } from './api-keys/api-key.entity';
import type { Principal } from './principal';
import type { User } from './users/user.entity';

export const AUTH_REQUIREMENTS = Symbol('odc:auth-requirements');

export interface AuthRequirements {
  scopes: ApiKeyScope[];
  admin: boolean;
}

/** The guard leaves the caller on the request: who they are, and their user row (loaded anyway). */
export type AuthenticatedRequest = Request & { principal?: Principal; caller?: User };
