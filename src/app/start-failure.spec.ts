import { createServer } from 'node:net';
import { loadAppConfig } from './config';
import { DataDirInUseError } from '../infra/database/embedded-postgres';
import { explainStartFailure } from './start-failure';

const config = loadAppConfig({ NODE_ENV: 'test', ODC_ROLES: 'coordinator,deployer', ODC_PORT: '8080' });

function listenError(code: string, port: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code}: 127.0.0.1:${port}`), {
    code,
    syscall: 'listen',
    address: '127.0.0.1',
    port,
  });
}

describe('a start-up failure, explained in one line', () => {
  it('names the port in use and the setting that moves each listener', () => {
    expect(explainStartFailure(listenError('EADDRINUSE', 8080), config)).toMatch(
      /^port 8080 on 127\.0\.0\.1 is in use, .*choose another port with ODC_PORT$/,
    );
    expect(explainStartFailure(listenError('EADDRINUSE', 8443), config)).toMatch(
      /ODC_DEPLOYER_PORT \(or --port\)$/,
    );
    expect(explainStartFailure(listenError('EACCES', 80), config)).toMatch(/below 1024/);
  });

  it('says which process has the data folder', () => {
    expect(explainStartFailure(new DataDirInUseError('/srv/odc', 4242), config)).toMatch(/pid 4242/);
  });

  it('leaves a bug alone (it is logged whole)', () => {
    expect(explainStartFailure(new TypeError('x is undefined'), config)).toBeUndefined();
  });

  it('recognises the error Node gives for a port taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    const error = await new Promise<Error>((resolve) =>
      createServer().once('error', resolve).listen(port, '127.0.0.1'),
    );
    taken.close();
    expect(explainStartFailure(error, config)).toMatch(new RegExp(`^port ${port} on 127.0.0.1 is in use`));
  });
});
