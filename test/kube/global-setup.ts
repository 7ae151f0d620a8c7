import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/app/version';
import databaseSetup from '../support/global-setup';

/**
 * The real-Kubernetes tier (docs/kube-tier.md): builds the control plane when needed (cached),
 * starts it, and points the shared fixtures at it (ODC_TEST_KUBE=real). The deployer needs no
 * database, but the test app the fixtures start makes one per app (and the development start's
 * specs run a coordinator), so the integration tier's PostgreSQL setup runs too.
 */
export default async function setup(): Promise<void> {
  const started = Date.now();
  const root = projectRoot();
  const pids = join(process.env.ODC_KUBE_DIR ?? join(root, '.odc', 'kube'), 'pids');
  const alreadyUp = existsSync(pids) && readdirSync(pids).some((file) => file.endsWith('.pid'));
  execFileSync('npm', ['run', 'kube:build', '--silent'], { cwd: root, stdio: 'inherit' });
  execFileSync('npm', ['run', 'kube:up', '--silent'], { cwd: root, stdio: 'inherit' });
  // Leave a control plane someone else started running; stop the one this run started.
  (globalThis as { odcKubeStarted?: boolean }).odcKubeStarted = !alreadyUp;
  process.env.ODC_TEST_KUBE = 'real';
  console.log(`[kube setup] real API server ready in ${Date.now() - started} ms`);
  await databaseSetup();
}
