import { execFileSync } from 'node:child_process';
import { projectRoot } from '../../src/app/version';
import databaseTeardown from '../support/global-teardown';

export default async function teardown(): Promise<void> {
  try {
    await databaseTeardown();
  } finally {
    if ((globalThis as { odcKubeStarted?: boolean }).odcKubeStarted) {
      execFileSync('npm', ['run', 'kube:down', '--silent'], { cwd: projectRoot(), stdio: 'inherit' });
    }
  }
}
