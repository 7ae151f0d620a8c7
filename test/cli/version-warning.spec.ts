import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OdcApi } from '../../src/cli/api';
import { CLI_VERSION } from '../../src/cli/version';

/** A server of another version than the CLI: the CLI says so once per run, with the fix. */
describe('gpu-dev against a server of another version', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.setHeader('X-ODC-Version', '99.0.0');
      res.setHeader('Content-Type', 'application/json');
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('warns once, naming both versions and the install command', async () => {
    const written: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const api = new OdcApi(url, 'odc_test');
      await api.get('/api/v1/me');
      await api.get('/api/v1/me');
    } finally {
      stderr.mockRestore();
    }
    expect(written).toEqual([
      `warning: gpu-dev ${CLI_VERSION} talks to ODC 99.0.0; get the server's CLI with: curl -fsSL ${url}/cli/install.sh | sh\n`,
    ]);
  });
});
