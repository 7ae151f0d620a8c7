/**
 * The row of a statement that always answers exactly one (a `count(*)`, an `INSERT … RETURNING` of
 * one row, a `pg_try_advisory_lock`). Throws, naming `what`, when it is missing, so a broken
 * statement fails there instead of as an undefined read further on.
 */
export function onlyRow<T>(rows: readonly T[], what: string): T {
  const [row] = rows;
  if (row === undefined) {
    throw new Error(`${what} returned no row`);
  }
  return row;
}
