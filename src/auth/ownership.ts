import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import type { Principal } from './principal';

/** Anything a user owns: reservations, disks, snapshots, API keys. */
export interface Owned {
  userId: string;
}

/** Whose resources a list shows: the caller's own, or (admins asking for it) everyone's. */
export type OwnerFilter = { userId: string } | Record<string, never>;

/**
 * The one ownership rule every resource service applies. A resource of another user answers
 * 404 exactly as one that does not exist, so existence does not leak; admins reach others'
 * resources only where the endpoint says so (`adminMay`), e.g. to cancel a stuck reservation.
 */
export function ownedOrNotFound<T extends Owned>(
  resource: T | null | undefined,
  principal: Principal,
  notFoundMessage: string,
  options: { adminMay?: boolean } = {},
): T {
  if (!resource || !mayReach(resource, principal, options.adminMay ?? false)) {
    throw new AppError(CommonErrorCode.NotFound, notFoundMessage);
  }
  return resource;
}

/**
 * The condition a listing query adds: `{ userId }` of the caller, or nothing when an admin asks
 * for every user's (`?user=all`). A non-admin asking for everyone's is a 403, not a silent narrowing.
 */
export function ownerFilter(principal: Principal, options: { allUsers?: boolean } = {}): OwnerFilter {
  if (!options.allUsers) {
    return { userId: principal.userId };
  }
  if (!principal.admin) {
    throw new AppError(CommonErrorCode.Forbidden, "Only admins can list every user's resources");
  }
  return {};
}

function mayReach(resource: Owned, principal: Principal, adminMay: boolean): boolean {
  return resource.userId === principal.userId || (adminMay && principal.admin);
}
