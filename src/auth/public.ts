/**
 * What other folders may use of auth: who is calling (Principal) and the decorators and ownership
 * filters that guard routes. Everything else in auth/ is its own.
 */
export type { AuthenticatedRequest } from './auth-requirements';
export { AdminOnly, Authenticated, CurrentPrincipal } from './auth.decorators';
export { AuthModule } from './auth.module';
export { FirstAdminOnDevelopmentStart } from './first-admin';
export { ownedOrNotFound, ownerFilter } from './ownership';
export type { Principal } from './principal';
export { User } from './users/user.entity';
