/** ssh-keys add|list|remove: the public keys your environments let in (`~/.ssh/authorized_keys`). */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeDto } from '../../auth/dto/api-key.dto';
import type { OdcApi } from '../api';
import { homeDirectory } from '../config';
import { confirm } from '../prompt';
import { dedicatedKeyPath, includeSshConfig, makeDedicatedKey, sshConfigPaths } from '../ssh';
import { contextOf, usage } from '../context';

/** The public keys `ssh` offers first, in its own order: the one `add` takes when given no file. */
const DEFAULT_PUBLIC_KEYS = ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub'];

/** `SHA256:…`, as `ssh-keygen -lf` prints it: how a key is named without showing it whole. */
export function fingerprintOf(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1] ?? '';
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

function describeKey(publicKey: string): { type: string; fingerprint: string; comment: string } {
  const [type = '?', , ...comment] = publicKey.trim().split(/\s+/);
  return { type, fingerprint: fingerprintOf(publicKey), comment: comment.join(' ') };
}

/** The first public key ssh would offer, else the one `login` made for ODC; undefined when none. */
export function findPublicKey(): string | undefined {
  const dir = join(homeDirectory(), '.ssh');
  return [...DEFAULT_PUBLIC_KEYS.map((name) => join(dir, name)), `${dedicatedKeyPath()}.pub`].find((path) =>
    existsSync(path),
  );
}

function defaultPublicKey(): string {
  const dir = join(homeDirectory(), '.ssh');
  const found = findPublicKey();
  if (!found) {
    throw usage(
      `No public key in ${dir} (${DEFAULT_PUBLIC_KEYS.join(', ')}): name one, or make one with ssh-keygen -t ed25519`,
    );
  }
  return found;
}

async function currentKeys(api: OdcApi): Promise<string[]> {
  return (await api.get<MeDto>('/api/v1/me')).ssh_keys;
}

async function replaceKeys(api: OdcApi, keys: string[]): Promise<string[]> {
  return (await api.put<MeDto>('/api/v1/me/ssh-keys', { keys })).ssh_keys;
}

async function addKey(file: string | undefined, _options: object, command: Command): Promise<void> {
  const context = contextOf(command);
  const path = file ?? defaultPublicKey();
  const key = readFileSync(path, 'utf8').trim();
  if (key.includes('PRIVATE KEY')) {
    throw usage(`${path} is a private key: give its .pub file`);
  }
  const keys = await currentKeys(context.api());
  const fingerprint = fingerprintOf(key);
  if (keys.some((existing) => fingerprintOf(existing) === fingerprint)) {
    context.out.data({ added: false, fingerprint }, () =>
      context.out.line(`${fingerprint} is already one of your keys.`),
    );
    return;
  }
  await replaceKeys(context.api(), [...keys, key]);
  context.out.data({ added: true, fingerprint }, () =>
    context.out.line(`Added ${fingerprint} (${path}): your new reservations let it in.`),
  );
}

async function listKeys(_options: object, command: Command): Promise<void> {
  const context = contextOf(command);
  const keys = (await currentKeys(context.api())).map(describeKey);
  context.out.data(keys, () => {
    if (keys.length === 0) {
      context.out.line('No SSH keys: add one with gpu-dev ssh-keys add [FILE]');
      return;
    }
    context.out.table(
      ['TYPE', 'FINGERPRINT', 'COMMENT'],
      keys.map((k) => [k.type, k.fingerprint, k.comment]),
    );
  });
}

async function removeKey(which: string, _options: object, command: Command): Promise<void> {
  const context = contextOf(command);
  const keys = await currentKeys(context.api());
  const matching = keys.filter((key) => {
    const { fingerprint, comment } = describeKey(key);
    return fingerprint === which || fingerprint === `SHA256:${which}` || comment === which;
  });
  if (matching.length !== 1) {
    throw usage(
      matching.length === 0
        ? `None of your keys is ${which} (gpu-dev ssh-keys list shows their fingerprints and comments)`
        : `${matching.length} keys have the comment ${which}: name one by its fingerprint`,
    );
  }
  await replaceKeys(
    context.api(),
    keys.filter((key) => key !== matching[0]),
  );
  const fingerprint = fingerprintOf(matching[0]!);
  context.out.data({ removed: fingerprint }, () =>
    context.out.line(`Removed ${fingerprint}: new reservations no longer let it in.`),
  );
}

/**
 * Right after a login, for a user ODC has no SSH key of: on a terminal, offer their default public
 * key, or, when they have none, make one for ODC alone (as dstack does: ~/.ssh/gpu-dev_ed25519, no
 * passphrase) that connect and ssh-config use; anywhere else, say how. Told on stderr, so --json
 * output stays one document.
 */
export async function offerSshKey(api: OdcApi): Promise<void> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const existing = findPublicKey();
  if (!process.stdin.isTTY) {
    say(
      `ODC has no SSH key of yours, so gpu-dev connect cannot get in: gpu-dev ssh-keys add${existing ? ` (adds ${existing})` : ' FILE'}`,
    );
    return;
  }
  const path = existing ? await offerExisting(existing) : await offerNew(say);
  if (!path) {
    say('Later: gpu-dev ssh-keys add [FILE]');
    return;
  }
  await replaceKeys(api, [readFileSync(path, 'utf8').trim()]);
  say(`Added ${path}: your reservations let it in (gpu-dev connect).`);
}

/** The user's own public key, if they say yes. */
async function offerExisting(path: string): Promise<string | undefined> {
  const fingerprint = fingerprintOf(readFileSync(path, 'utf8'));
  return (await confirm(`ODC has no SSH key of yours. Add ${path} (${fingerprint})?`)) ? path : undefined;
}

/** A key made for ODC, if they say yes; its .pub. */
async function offerNew(say: (line: string) => void): Promise<string | undefined> {
  const question = `ODC has no SSH key of yours and ~/.ssh has none. Make one for ODC (${dedicatedKeyPath()})?`;
  return (await confirm(question)) ? makeKeyAndSshConfig(say) : undefined;
}

/**
 * The dedicated key, and the SSH config that uses it (as dstack does): ~/.ssh/config includes
 * ~/.ssh/gpu-dev.conf, whose Host blocks (gpu-dev ssh-config --install) name the key. Its .pub.
 */
function makeKeyAndSshConfig(say: (line: string) => void): string {
  const key = makeDedicatedKey();
  const paths = sshConfigPaths();
  includeSshConfig(paths);
  say(
    `Made ${key}; ${paths.main} includes ${paths.include} (gpu-dev ssh-config --install fills it: ssh odc-<name>).`,
  );
  return `${key}.pub`;
}

export function registerSshKeyCommands(program: Command): void {
  const sshKeys = program.command('ssh-keys').description('The SSH public keys your environments let in');
  sshKeys
    .command('add')
    .description(`Add a public key (default: the first of ~/.ssh/${DEFAULT_PUBLIC_KEYS.join(', ')})`)
    .argument('[file]', 'an OpenSSH public key file')
    .action(addKey);
  sshKeys.command('list').description('Your keys: type, fingerprint, comment').action(listKeys);
  sshKeys
    .command('remove')
    .description('Remove a key, named by its fingerprint or its comment')
    .argument('<key>', 'SHA256:… as list shows it, or the comment')
    .action(removeKey);
}
