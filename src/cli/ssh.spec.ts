import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dedicatedKeyPath,
  hostAlias,
  hostBlock,
  includeSshConfig,
  installSshConfig,
  makeDedicatedKey,
  parseSshCommand,
  sshArguments,
} from './ssh';

describe('gpu-dev ssh helpers', () => {
  it('turns the server’s SSH command into the same ssh arguments, and refuses anything else', () => {
    const home = mkdtempSync(join(tmpdir(), 'gpu-dev-ssh-'));
    try {
      const target = parseSshCommand('ssh -p 31420 dev@gpu.example.com');
      expect(target).toEqual({ port: 31420, user: 'dev', host: 'gpu.example.com' });
      expect(sshArguments(target, { home })).toEqual(['-p', '31420', 'dev@gpu.example.com']);
      expect(sshArguments(target, { home, forwardAgent: true })).toEqual([
        '-A',
        '-p',
        '31420',
        'dev@gpu.example.com',
      ]);
      expect(() => parseSshCommand('ssh dev@host; rm -rf ~')).toThrow('Unexpected SSH command');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('names the key login made for ODC, when there is one, in the command and the Host block', () => {
    const home = mkdtempSync(join(tmpdir(), 'gpu-dev-ssh-'));
    try {
      const target = { host: 'h', port: 2222, user: 'dev' };
      expect(hostBlock('odc-w', target, home)).not.toContain('IdentityFile');
      const key = makeDedicatedKey(home);
      expect(key).toBe(dedicatedKeyPath(home));
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/^ssh-ed25519 \S+ gpu-dev\n$/);
      expect(sshArguments(target, { home })).toEqual(['-i', key, '-p', '2222', 'dev@h']);
      expect(hostBlock('odc-w', target, home)).toContain(`  IdentityFile ${key}\n`);

      // The config that uses it: included once from ~/.ssh/config, an include file kept if there.
      const paths = { include: join(home, '.ssh', 'gpu-dev.conf'), main: join(home, '.ssh', 'config') };
      expect(includeSshConfig(paths)).toBe(true);
      expect(includeSshConfig(paths)).toBe(false);
      expect(readFileSync(paths.main, 'utf8')).toBe(`Include ${paths.include}\n\n`);
      installSshConfig(hostBlock('odc-w', target, home), paths);
      includeSshConfig(paths);
      expect(readFileSync(paths.include, 'utf8')).toContain('Host odc-w');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('names hosts after the reservation, else its id', () => {
    expect(hostAlias({ id: '467c30ea-5f5f', name: 'my work' })).toBe('odc-my-work');
    expect(hostAlias({ id: '467c30ea-5f5f' })).toBe('odc-467c30ea');
    expect(hostBlock('odc-w', { host: 'h', port: 2222, user: 'dev' })).toContain('  Port 2222\n');
  });

  it('installs the include file and adds the Include line once, at the top of ~/.ssh/config', () => {
    const home = mkdtempSync(join(tmpdir(), 'gpu-dev-ssh-'));
    try {
      const paths = { include: join(home, '.ssh', 'gpu-dev.conf'), main: join(home, '.ssh', 'config') };
      expect(installSshConfig(hostBlock('odc-a', { host: 'h', port: 1, user: 'dev' }), paths)).toBe(true);
      writeFileSync(paths.main, `${readFileSync(paths.main, 'utf8')}Host mine\n  User me\n`);
      expect(installSshConfig(hostBlock('odc-b', { host: 'h', port: 2, user: 'dev' }), paths)).toBe(false);
      const main = readFileSync(paths.main, 'utf8');
      expect(main.startsWith(`Include ${paths.include}\n`)).toBe(true);
      expect(main.match(/^Include /gm)).toHaveLength(1);
      expect(main).toContain('Host mine');
      const include = readFileSync(paths.include, 'utf8');
      expect(include).toContain('Host odc-b');
      expect(include).not.toContain('Host odc-a'); // replaced each time
      expect(statSync(paths.include).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
