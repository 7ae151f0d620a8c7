import {
  isAllowed,
  normalizeUsername,
  parseAllowedPrincipals,
  parseCallerArn,
  usernameOf,
  type AwsPrincipal,
} from './aws-principal';

const ACCOUNT = '123456789012';
const OTHER_ACCOUNT = '210987654321';

function principal(arn: string): AwsPrincipal {
  const parsed = parseCallerArn(arn);
  if (!parsed) {
    throw new Error(`not an ARN: ${arn}`);
  }
  return parsed;
}

describe('parseCallerArn', () => {
  it('reads an assumed role in each partition', () => {
    expect(parseCallerArn(`arn:aws:sts::${ACCOUNT}:assumed-role/GpuUsers/alice@example.com`)).toEqual({
      kind: 'assumed-role',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/GpuUsers/alice@example.com`,
      partition: 'aws',
      account: ACCOUNT,
      roleName: 'GpuUsers',
      sessionName: 'alice@example.com',
    });
    expect(parseCallerArn(`arn:aws-cn:sts::${ACCOUNT}:assumed-role/R/bob`)).toMatchObject({
      kind: 'assumed-role',
      partition: 'aws-cn',
    });
    expect(parseCallerArn(`arn:aws-us-gov:sts::${ACCOUNT}:assumed-role/R/bob`)).toMatchObject({
      partition: 'aws-us-gov',
    });
  });

  it('tells users, root and other principals apart', () => {
    expect(parseCallerArn(`arn:aws:iam::${ACCOUNT}:user/ops/carol`)).toMatchObject({
      kind: 'user',
      userName: 'carol',
    });
    expect(parseCallerArn(`arn:aws:iam::${ACCOUNT}:root`)).toMatchObject({ kind: 'root' });
    expect(parseCallerArn(`arn:aws:sts::${ACCOUNT}:federated-user/dave`)).toMatchObject({ kind: 'other' });
    expect(parseCallerArn('arn:aws:s3:::bucket')).toBeUndefined();
    expect(parseCallerArn(`arn:aws:sts::${ACCOUNT}:assumed-role/R/a/b`)).toMatchObject({ kind: 'other' });
    expect(parseCallerArn('not an arn')).toBeUndefined();
  });
});

describe('parseAllowedPrincipals', () => {
  it('reads names, role ARNs (with a path) and user ARNs, ignoring blanks', () => {
    expect(
      parseAllowedPrincipals(
        ` GpuUsers , arn:aws:iam::${ACCOUNT}:role/teams/gpu/Admins,, arn:aws:iam::${ACCOUNT}:user/Carol `,
      ),
    ).toEqual([
      { kind: 'role-name', roleName: 'gpuusers' },
      { kind: 'role-arn', partition: 'aws', account: ACCOUNT, roleName: 'admins' },
      { kind: 'user-arn', arn: `arn:aws:iam::${ACCOUNT}:user/carol` },
    ]);
    expect(parseAllowedPrincipals('')).toEqual([]);
  });

  it('refuses entries it cannot use, root included', () => {
    expect(() => parseAllowedPrincipals(`arn:aws:iam::${ACCOUNT}:root`)).toThrow(/root/);
    expect(() => parseAllowedPrincipals(`arn:aws:sts::${ACCOUNT}:assumed-role/R/s`)).toThrow(
      /neither a role name/,
    );
    expect(() => parseAllowedPrincipals('two words')).toThrow(/ODC_AWS_ALLOWED_ROLES/);
  });
});

describe('isAllowed', () => {
  const role = principal(`arn:aws:sts::${ACCOUNT}:assumed-role/GpuUsers/alice`);

  it('matches a role by name in any account, case aside', () => {
    expect(isAllowed(role, parseAllowedPrincipals('gpuusers'))).toBe(true);
    expect(
      isAllowed(
        principal(`arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/GpuUsers/carol`),
        parseAllowedPrincipals('GpuUsers'),
      ),
    ).toBe(true);
    expect(isAllowed(role, parseAllowedPrincipals('GpuUser,GpuUsersX'))).toBe(false);
  });

  it('matches a role ARN only in its own account and partition, whatever its path', () => {
    expect(isAllowed(role, parseAllowedPrincipals(`arn:aws:iam::${ACCOUNT}:role/a/b/GpuUsers`))).toBe(true);
    expect(isAllowed(role, parseAllowedPrincipals(`arn:aws:iam::${OTHER_ACCOUNT}:role/GpuUsers`))).toBe(
      false,
    );
    expect(isAllowed(role, parseAllowedPrincipals(`arn:aws-cn:iam::${ACCOUNT}:role/GpuUsers`))).toBe(false);
  });

  it('allows an IAM user only by its full ARN, never root', () => {
    const user = principal(`arn:aws:iam::${ACCOUNT}:user/ops/carol`);
    expect(isAllowed(user, parseAllowedPrincipals('carol'))).toBe(false);
    expect(isAllowed(user, parseAllowedPrincipals(`arn:aws:iam::${ACCOUNT}:user/carol`))).toBe(false);
    expect(isAllowed(user, parseAllowedPrincipals(`arn:aws:iam::${ACCOUNT}:user/ops/carol`))).toBe(true);
    expect(isAllowed(principal(`arn:aws:iam::${ACCOUNT}:root`), parseAllowedPrincipals('root'))).toBe(false);
  });

  it('allows no one with an empty list', () => {
    expect(isAllowed(role, [])).toBe(false);
  });
});

describe('normalizeUsername', () => {
  it.each([
    ['Alice.Smith@Example.com', 'alice.smith'],
    ['bob', 'bob'],
    ['carol+gpu@corp.example', 'carol-gpu'],
    ['_dave=ops_', 'dave-ops'],
    ['eve,,x', 'eve-x'],
    ['x'.repeat(70), 'x'.repeat(64)],
    [`${'y'.repeat(63)}.z`, 'y'.repeat(63)],
  ])('%s → %s', (raw, expected) => {
    expect(normalizeUsername(raw)).toBe(expected);
  });

  it.each([
    '@example.com',
    '==',
    '1700000000000',
    'botocore-session-1700000000',
    'aws-go-sdk-1700000000',
    'aws-sdk-java-1700000000000',
    'i-0123456789abcdef0',
  ])('derives nothing from %s', (raw) => {
    expect(normalizeUsername(raw)).toBeUndefined();
  });

  it('takes a user name from an assumed role session or an IAM user, not from root', () => {
    expect(usernameOf(principal(`arn:aws:sts::${ACCOUNT}:assumed-role/R/Alice@x.org`))).toBe('alice');
    expect(usernameOf(principal(`arn:aws:iam::${ACCOUNT}:user/Carol`))).toBe('carol');
    expect(usernameOf(principal(`arn:aws:iam::${ACCOUNT}:root`))).toBeUndefined();
  });
});
