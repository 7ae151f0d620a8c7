import { spawnSync } from 'node:child_process';
import { isProcessAlive } from './process-alive';

describe('isProcessAlive', () => {
  it('is true for this process and false for one that has exited', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const { pid } = spawnSync(process.execPath, ['-e', '0']);
    expect(isProcessAlive(pid)).toBe(false);
  });
});
