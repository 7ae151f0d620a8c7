import { QueryFailedError } from 'typeorm';

const UNIQUE_VIOLATION = '23505';

/** PostgreSQL refused a row because a unique index already holds its key. */
export function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION
  );
}
