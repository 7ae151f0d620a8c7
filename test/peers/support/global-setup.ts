import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../src/app/version';
import integrationSetup from '../../support/global-setup';
import { MOTO_BIN_ENV, motoServerPath } from './moto';

/**
 * The integration tier's setup (one PostgreSQL, the build the CLI runs from), then the peers' own
 * tools: scripts/tools/python.sh installs them at their pinned versions the first time and prints
 * their folder; scripts/tools/chromium.sh, Debian's Chromium for the browser spec. A tool that cannot be had fails the run here, once, rather than in every file.
 */
export default async function setup(): Promise<void> {
  const bin = execFileSync('bash', [join(projectRoot(), 'scripts/tools/python.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  process.env[MOTO_BIN_ENV] = bin;
  motoServerPath(); // throws, naming the path, when the venv has no moto_server
  process.env.CHROMIUM_PATH = execFileSync('bash', [join(projectRoot(), 'scripts/tools/chromium.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  await integrationSetup();
}
