import { AppError } from '../infra/errors/app-error';
import { ownedOrNotFound, ownerFilter } from './ownership';
import type { Principal } from './principal';

const alice: Principal = { userId: 'a', username: 'alice', admin: false, via: 'api_key', scopes: [] };
const admin: Principal = { userId: 'r', username: 'root', admin: true, via: 'api_key', scopes: [] };
const codeOf = (run: () => unknown) => {
  try {
    run();
    return 'no error';
  } catch (error) {
    return error instanceof AppError ? error.code : 'other';
  }
};

describe('ownership', () => {
  it("answers another user's resource as one that does not exist", () => {
    expect(ownedOrNotFound({ userId: 'a', n: 1 }, alice, 'No such thing')).toEqual({ userId: 'a', n: 1 });
    expect(codeOf(() => ownedOrNotFound({ userId: 'b' }, alice, 'No such thing'))).toBe('not_found');
    expect(codeOf(() => ownedOrNotFound(null, alice, 'No such thing'))).toBe('not_found');
  });

  it('lets admins through only where the endpoint allows it', () => {
    expect(codeOf(() => ownedOrNotFound({ userId: 'b' }, admin, 'x'))).toBe('not_found');
    expect(ownedOrNotFound({ userId: 'b' }, admin, 'x', { adminMay: true })).toEqual({ userId: 'b' });
    expect(codeOf(() => ownedOrNotFound({ userId: 'b' }, alice, 'x', { adminMay: true }))).toBe('not_found');
  });

  it("lists the caller's own; everyone's only for an admin who asks", () => {
    expect(ownerFilter(alice)).toEqual({ userId: 'a' });
    expect(ownerFilter(admin)).toEqual({ userId: 'r' });
    expect(ownerFilter(admin, { allUsers: true })).toEqual({});
    expect(codeOf(() => ownerFilter(alice, { allUsers: true }))).toBe('forbidden');
  });
});
