/**
 * PostgreSQL advisory lock keys, as (namespace, id) pairs so ODC never collides with another
 * application's single-bigint locks on a shared server.
 */
export const LOCK_NAMESPACE = {
  /** id 0: schema migrations. */
  system: 0x0dc0,
  /** id: hashtext(task name). */
  scheduledTask: 0x0dc1,
  /** id 0: the audit log's hash chain (one writer at a time extends it). */
  audit: 0x0dc2,
  /** id: hashtext(user id): one user's reservation requests are checked against their limits one at a time. */
  userReservations: 0x0dc3,
} as const;

export const MIGRATIONS_LOCK_ID = 0;
