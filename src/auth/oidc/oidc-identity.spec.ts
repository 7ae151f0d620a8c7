import { oidcIdentityFrom } from './oidc-identity';

const settings = {
  ODC_OIDC_USERNAME_CLAIM: 'preferred_username',
  ODC_OIDC_GROUPS_CLAIM: 'groups',
  ODC_OIDC_ADMIN_GROUPS: 'gpu-admins, platform',
};
const base = { iss: 'https://idp.example', sub: 'u-123', nonce: 'n', at_hash: 'h', exp: 1, iat: 1 };

describe('oidcIdentityFrom', () => {
  it('takes the username claim, normalised, and keeps the claims that describe the person', () => {
    const identity = oidcIdentityFrom(
      { ...base, preferred_username: 'Alice.Smith', email: 'alice@example.com', groups: ['dev'] },
      settings,
    );
    expect(identity).toEqual({
      issuer: 'https://idp.example',
      subject: 'u-123',
      username: 'alice.smith',
      email: 'alice@example.com',
      adminByClaims: false,
      claims: {
        iss: 'https://idp.example',
        sub: 'u-123',
        preferred_username: 'Alice.Smith',
        email: 'alice@example.com',
        groups: ['dev'],
      },
    });
  });

  it('falls back to the email local part, then the subject', () => {
    expect(oidcIdentityFrom({ ...base, email: 'Bob@Example.com' }, settings)?.username).toBe('bob');
    expect(oidcIdentityFrom({ ...base }, settings)?.username).toBe('u-123');
    expect(oidcIdentityFrom({ ...base, sub: '@@@' }, settings)).toBeUndefined();
  });

  it('is admin when a configured group is in the groups claim (a list or a single name)', () => {
    expect(oidcIdentityFrom({ ...base, groups: ['dev', 'platform'] }, settings)?.adminByClaims).toBe(true);
    expect(oidcIdentityFrom({ ...base, groups: 'gpu-admins' }, settings)?.adminByClaims).toBe(true);
    expect(oidcIdentityFrom({ ...base, groups: ['gpu-admins-not'] }, settings)?.adminByClaims).toBe(false);
    expect(
      oidcIdentityFrom({ ...base, groups: ['gpu-admins'] }, { ...settings, ODC_OIDC_ADMIN_GROUPS: '' })
        ?.adminByClaims,
    ).toBe(false);
  });

  it('needs an issuer and a subject', () => {
    expect(oidcIdentityFrom({ sub: 'x' }, settings)).toBeUndefined();
    expect(oidcIdentityFrom({ iss: 'https://idp.example', sub: '' }, settings)).toBeUndefined();
  });
});
