import { needsDatabase, parseRoles, UnknownRoleError } from './roles';

describe('parseRoles', () => {
  it('accepts every role, in any order, with spaces and duplicates', () => {
    expect([...parseRoles(' worker,coordinator , worker,CRON,deployer')]).toEqual([
      'worker',
      'coordinator',
      'cron',
      'deployer',
    ]);
  });

  it('rejects unknown names and lists the valid ones', () => {
    expect(() => parseRoles('worker,bogus')).toThrow(UnknownRoleError);
    expect(() => parseRoles('worker,bogus')).toThrow(
      'ODC_ROLES has unknown role(s) "bogus"; valid roles: coordinator, worker, cron, deployer',
    );
  });

  it('rejects an empty list', () => {
    expect(() => parseRoles(' , ')).toThrow(
      'ODC_ROLES names no role; valid roles: coordinator, worker, cron, deployer',
    );
  });
});

describe('needsDatabase', () => {
  it('is false only for a deployer-only replica', () => {
    expect(needsDatabase(parseRoles('deployer'))).toBe(false);
    expect(needsDatabase(parseRoles('deployer,cron'))).toBe(true);
    expect(needsDatabase(parseRoles('worker'))).toBe(true);
  });
});
