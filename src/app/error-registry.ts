import { AUTH_ERROR_STATUSES } from '../auth/auth.errors';
import { CLUSTER_ERROR_STATUSES } from '../clusters/cluster.errors';
import { DEPLOYER_ERROR_STATUSES } from '../deployer/deployer.errors';
import { COMMON_ERROR_STATUSES, type ErrorCode, type ErrorStatuses } from '../infra/errors/app-error';
import { RESERVATION_ERROR_STATUSES } from '../reservations/reservation.errors';
import { STORAGE_ERROR_STATUSES } from '../storage/storage.errors';

/**
 * The one list of error codes and their HTTP statuses: the exception filter answers by it, the
 * OpenAPI documents' `ErrorCode` enum is it, and the docs' error tables are checked against it
 * (`test/http/error-registry.spec.ts`). `satisfies` makes the compiler refuse a code some domain
 * declares (`ErrorCodes`) that is missing here.
 */
export const ERROR_STATUSES = {
  ...COMMON_ERROR_STATUSES,
  ...AUTH_ERROR_STATUSES,
  ...CLUSTER_ERROR_STATUSES,
  ...DEPLOYER_ERROR_STATUSES,
  ...RESERVATION_ERROR_STATUSES,
  ...STORAGE_ERROR_STATUSES,
} as const satisfies ErrorStatuses<ErrorCode>;

/** What a deployer's listener can answer: the common codes and the deployer's own. */
export const DEPLOYER_LISTENER_ERROR_STATUSES = {
  ...COMMON_ERROR_STATUSES,
  ...DEPLOYER_ERROR_STATUSES,
} as const;
