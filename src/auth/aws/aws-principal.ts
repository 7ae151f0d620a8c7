/**
 * The AWS principals STS names, the allowlist they are checked against (ODC_AWS_ALLOWED_ROLES) and
 * the ODC user name derived from them. Pure functions: no I/O.
 *
 * Decisions (see the verifier's header for the whole flow):
 * - an assumed role is allowed by its role name (in any account: prefer ARNs, see below) or by its
 *   role ARN `arn:<partition>:iam::<account>:role[/<path>]/<RoleName>` (same partition and account;
 *   the path is not part of an assumed-role ARN, and role names are unique in an account whatever
 *   the path);
 * - an IAM user is allowed only when its full ARN is listed (a bare name never matches a user);
 * - the root user is never allowed; listing a root ARN is a configuration error, as is any entry
 *   that is neither a role name, a role ARN nor a user ARN;
 * - anything else STS may name (federated users, …) is refused;
 * - IAM compares role and user names without regard to case (it refuses two that differ only by
 *   case), so the allowlist does too.
 *
 * A bare role name matches that role in EVERY AWS account, including one an outsider creates with
 * the same name: list role ARNs in production.
 */
import { commaList } from '../../infra/config/comma-list';

export type AwsPrincipal =
  | {
      kind: 'assumed-role';
      arn: string;
      partition: string;
      account: string;
      roleName: string;
      sessionName: string;
    }
  | { kind: 'user'; arn: string; partition: string; account: string; userName: string }
  | { kind: 'root'; arn: string; partition: string; account: string }
  | { kind: 'other'; arn: string; partition: string; account: string };

export type AllowedPrincipal =
  | { kind: 'role-name'; roleName: string }
  | { kind: 'role-arn'; partition: string; account: string; roleName: string }
  | { kind: 'user-arn'; arn: string };

const PARTITION = 'aws(?:-[a-z]+)*';
const ACCOUNT = '\\d{12}';
/** IAM role and user names; role session names use the same characters (2 to 64 of them). */
const NAME = '[\\w+=,.@-]{1,64}';
/** An IAM path: `/` or `/division/team/` (printable ASCII); the name follows its last slash. */
const PATH = '(?:[\\x21-\\x7e]*/)?';

const ASSUMED_ROLE_ARN = new RegExp(
  `^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/([\\w+=,.@-]{2,64})$`,
);
const USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user/${PATH}(${NAME})$`);
const ROOT_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):root$`);
const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role/${PATH}(${NAME})$`);
const ANY_ARN = new RegExp(`^arn:(${PARTITION}):(?:iam|sts)::(${ACCOUNT}):[\\x21-\\x7e]+$`);
const ROLE_NAME = new RegExp(`^${NAME}$`);

/** The principal an STS GetCallerIdentity answer names, or undefined if that is not an IAM/STS ARN. */
export function parseCallerArn(arn: string): AwsPrincipal | undefined {
  let match = ASSUMED_ROLE_ARN.exec(arn);
  if (match) {
    const [, partition = '', account = '', roleName = '', sessionName = ''] = match;
    return { kind: 'assumed-role', arn, partition, account, roleName, sessionName };
  }
  match = USER_ARN.exec(arn);
  if (match) {
    const [, partition = '', account = '', userName = ''] = match;
    return { kind: 'user', arn, partition, account, userName };
  }
  match = ROOT_ARN.exec(arn) ?? ANY_ARN.exec(arn);
  if (match) {
    const [, partition = '', account = ''] = match;
    return { kind: ROOT_ARN.test(arn) ? 'root' : 'other', arn, partition, account };
  }
  return undefined;
}

/**
 * ODC_AWS_ALLOWED_ROLES as entries. Throws on an entry it cannot use (a typo must not silently
 * allow nobody, nor anybody); an empty list is valid and allows no one.
 */
export function parseAllowedPrincipals(list: string): AllowedPrincipal[] {
  const entries: AllowedPrincipal[] = [];
  const problems: string[] = [];
  for (const entry of commaList(list)) {
    const role = ROLE_ARN.exec(entry);
    if (role) {
      const [, partition = '', account = '', roleName = ''] = role;
      entries.push({ kind: 'role-arn', partition, account, roleName: roleName.toLowerCase() });
    } else if (USER_ARN.test(entry)) {
      entries.push({ kind: 'user-arn', arn: entry.toLowerCase() });
    } else if (ROOT_ARN.test(entry)) {
      problems.push(`${entry} is a root user, which may never log in`);
    } else if (ROLE_NAME.test(entry)) {
      entries.push({ kind: 'role-name', roleName: entry.toLowerCase() });
    } else {
      problems.push(`${entry} is neither a role name, a role ARN nor an IAM user ARN`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`ODC_AWS_ALLOWED_ROLES: ${problems.join('; ')}`);
  }
  return entries;
}

export function isAllowed(principal: AwsPrincipal, allowed: readonly AllowedPrincipal[]): boolean {
  switch (principal.kind) {
    case 'assumed-role': {
      const roleName = principal.roleName.toLowerCase();
      return allowed.some(
        (entry) =>
          (entry.kind === 'role-name' && entry.roleName === roleName) ||
          (entry.kind === 'role-arn' &&
            entry.roleName === roleName &&
            entry.account === principal.account &&
            entry.partition === principal.partition),
      );
    }
    case 'user': {
      const arn = principal.arn.toLowerCase();
      return allowed.some((entry) => entry.kind === 'user-arn' && entry.arn === arn);
    }
    case 'root':
    case 'other':
      return false;
    default:
      return assertUnreachable(principal);
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unexpected principal ${JSON.stringify(value)}`);
}

/**
 * Session names AWS tools pick when nobody chose one (SDK defaults, EC2 instance ids, timestamps):
 * they name a machine or a moment, not a person.
 */
const MACHINE_SESSION_NAMES = [
  /^\d+$/,
  /^botocore-session-\d+$/,
  /^aws-(?:[a-z]+-)*sdk-(?:[a-z]+-)*\d+$/,
  /^i-[0-9a-f]{8,17}$/,
];

export const MAX_USERNAME_LENGTH = 64;

/**
 * `Alice.Smith@Example.com` → `alice.smith`: the part before the first `@`, lower case, runs of
 * other characters than `[a-z0-9._-]` as one `-`, no leading or trailing `.`/`_`/`-`, at most 64
 * characters. Undefined when nothing is left or the name is one a tool made up.
 */
export function normalizeUsername(raw: string): string | undefined {
  const local = raw.split('@')[0] ?? '';
  const name = local
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, MAX_USERNAME_LENGTH)
    .replace(/[._-]+$/, '');
  if (name === '' || MACHINE_SESSION_NAMES.some((pattern) => pattern.test(name))) {
    return undefined;
  }
  return name;
}

/**
 * The ODC user a principal stands for: an assumed role's session name (the convention: whoever
 * assumes the role names the session after themselves; AWS IAM Identity Center and most SAML/OIDC
 * federations set it to the person's user name or email), an IAM user's name.
 */
export function usernameOf(principal: AwsPrincipal): string | undefined {
  switch (principal.kind) {
    case 'assumed-role':
      return normalizeUsername(principal.sessionName);
    case 'user':
      return normalizeUsername(principal.userName);
    case 'root':
    case 'other':
      return undefined;
    default:
      return assertUnreachable(principal);
  }
}
