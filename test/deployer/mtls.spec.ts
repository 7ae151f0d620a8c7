import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { projectRoot } from '../../src/app/version';
import { freePort } from '../../src/infra/os/free-port';
import { createCertificateAuthority, type CertificateAuthority, type Issued } from '../support/certificates';
import { startTestApp, type TestApp } from '../support/app';
import { startKubeTarget, type KubeTarget } from '../support/simulator';

describe('deployer over mTLS', () => {
  let target: KubeTarget;
  let app: TestApp;
  let ca: CertificateAuthority;
  let work: string;
  let url: string;

  beforeAll(async () => {
    target = await startKubeTarget({ nodePools: [{ name: 'cpu', count: 1 }] }, []);
    ca = await createCertificateAuthority('odc-test-ca');
    const server = await ca.issue({ cn: 'deployer', server: true });
    work = mkdtempSync(join(tmpdir(), 'odc-mtls-'));
    writeFileSync(join(work, 'server.crt'), server.cert);
    writeFileSync(join(work, 'server.key'), server.key);
    writeFileSync(join(work, 'ca.crt'), ca.cert);
    app = await startTestApp({
      roles: 'deployer',
      env: {
        ODC_KUBECONFIG_BASE64: target.kubeconfigBase64,
        ODC_DEPLOYER_TLS_CERT: join(work, 'server.crt'),
        ODC_DEPLOYER_TLS_KEY: join(work, 'server.key'),
        ODC_DEPLOYER_CLIENT_CA: join(work, 'ca.crt'),
        ODC_DEPLOYER_ALLOWED_CLIENT_CNS: 'odc-coordinator',
      },
    });
    url = app.runtime.listeners.find((l) => l.name === 'deployer')!.url;
  });

  afterAll(async () => {
    await app.close();
    await target.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** The HTTP status of GET /api/v1/health with this client certificate, or the TLS failure. */
  async function call(client?: Issued): Promise<number | 'refused'> {
    const dispatcher = new Agent({
      connect: { ca: ca.cert, ...(client ? { cert: client.cert, key: client.key } : {}) },
    });
    try {
      const res = await request(`${url}/api/v1/health`, { dispatcher });
      await res.body.text();
      return res.statusCode;
    } catch {
      return 'refused';
    } finally {
      await dispatcher.close();
    }
  }

  it('serves over https', () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('works with a certificate from the CA for an allowed name', async () => {
    expect(await call(await ca.issue({ cn: 'odc-coordinator' }))).toBe(200);
  });

  it('refuses a client without a certificate', async () => {
    expect(await call()).toBe('refused');
  });

  it('refuses a certificate from another CA', async () => {
    const stranger = await createCertificateAuthority('other-ca');
    expect(await call(await stranger.issue({ cn: 'odc-coordinator' }))).toBe('refused');
  });

  it('refuses an expired certificate', async () => {
    const expired = await ca.issue({
      cn: 'odc-coordinator',
      notBefore: new Date(Date.now() - 48 * 3600_000),
      notAfter: new Date(Date.now() - 24 * 3600_000),
    });
    expect(await call(expired)).toBe('refused');
  });

  it('refuses (403) a valid certificate whose name is not allowed', async () => {
    expect(await call(await ca.issue({ cn: 'someone-else' }))).toBe(403);
  });

  /** The image's HEALTHCHECK script, run as a deployer replica on `port` would run it. */
  function healthcheck(port: number): Promise<number> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(projectRoot(), 'dist/scripts/healthcheck.js')],
        {
          env: {
            PATH: process.env.PATH,
            NODE_ENV: 'production',
            ODC_ROLES: 'deployer',
            ODC_DEPLOYER_HOST: '127.0.0.1',
            ODC_DEPLOYER_PORT: String(port),
            ODC_DEPLOYER_TLS_CERT: join(work, 'server.crt'),
            ODC_DEPLOYER_TLS_KEY: join(work, 'server.key'),
            ODC_DEPLOYER_CLIENT_CA: join(work, 'ca.crt'),
          },
        },
        (error) => resolve(error ? Number(error.code ?? 1) : 0),
      );
    });
  }

  it('passes the image HEALTHCHECK (no client certificate needed), which fails when nothing listens', async () => {
    expect(await healthcheck(Number(new URL(url).port))).toBe(0);
    const closed = await freePort();
    expect(await healthcheck(closed)).toBe(1);
  });
});
