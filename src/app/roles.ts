/** What a replica runs. One image, many replicas; `ODC_ROLES` picks the parts. */
export const ROLES = ['coordinator', 'worker', 'cron', 'deployer'] as const;
export type Role = (typeof ROLES)[number];

export const DEFAULT_ROLES = ROLES.join(',');

export class UnknownRoleError extends Error {
  constructor(readonly unknown: string[]) {
    super(
      unknown.length === 0
        ? `ODC_ROLES names no role; valid roles: ${ROLES.join(', ')}`
        : `ODC_ROLES has unknown role(s) ${unknown.map((r) => `"${r}"`).join(', ')}; valid roles: ${ROLES.join(', ')}`,
    );
    this.name = 'UnknownRoleError';
  }
}

function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name);
}

/** Parses a comma list such as `coordinator, worker`; throws on unknown names or an empty list. */
export function parseRoles(value: string): ReadonlySet<Role> {
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
  const unknown = names.filter((name) => !isRole(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new UnknownRoleError(unknown);
  }
  return new Set(names.filter(isRole));
}

/** The roles that read or write the database; a deployer-only replica is stateless and needs none. */
export function needsDatabase(roles: ReadonlySet<Role>): boolean {
  return roles.has('coordinator') || roles.has('worker') || roles.has('cron');
}
