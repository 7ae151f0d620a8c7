import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  createCertificateAuthority,
  type CertificateAuthority,
  type Issued,
} from '../../../test/support/certificates';
import { certificateSummary, checkTlsMaterial } from './pem-check';

const HOUR = 3600_000;

describe('checkTlsMaterial', () => {
  let serverCa: CertificateAuthority;
  let clientCa: CertificateAuthority;
  let client: Issued;

  beforeAll(async () => {
    serverCa = await createCertificateAuthority('deployer server CA');
    clientCa = await createCertificateAuthority('deployer client CA');
    client = await clientCa.issue({ cn: 'odc-coordinator' });
  });

  it('accepts good material, the client certificate from another CA than ca_cert', () => {
    expect(
      checkTlsMaterial({ caCert: serverCa.cert, clientCert: client.cert, clientKey: client.key }),
    ).toEqual([]);
    expect(checkTlsMaterial({ caCert: serverCa.cert })).toEqual([]);
    expect(checkTlsMaterial({})).toEqual([]);
  });

  it('accepts a bundle of CAs and a client certificate with its chain', () => {
    expect(
      checkTlsMaterial({
        caCert: serverCa.cert + clientCa.cert,
        clientCert: client.cert + clientCa.cert,
        clientKey: client.key,
      }),
    ).toEqual([]);
  });

  it('refuses what is not a PEM certificate', () => {
    expect(checkTlsMaterial({ caCert: 'hello' })).toEqual([
      { field: 'ca_cert', reason: expect.stringMatching(/not a PEM certificate/) },
    ]);
    const garbled = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n';
    expect(checkTlsMaterial({ caCert: garbled })).toEqual([
      { field: 'ca_cert', reason: 'does not parse as an X.509 certificate' },
    ]);
    const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(checkTlsMaterial({ caCert: publicKey })).toEqual([
      { field: 'ca_cert', reason: 'contains a PUBLIC KEY block, not only certificates' },
    ]);
  });

  it('refuses a private key pasted into a certificate field (it would be stored unencrypted)', () => {
    expect(checkTlsMaterial({ clientCert: client.cert + client.key, clientKey: client.key })).toEqual([
      { field: 'client_cert', reason: expect.stringMatching(/contains a private key/) },
    ]);
  });

  it('refuses what is not a private key, and says so for an encrypted one', () => {
    const problems = checkTlsMaterial({ clientCert: client.cert, clientKey: client.cert });
    expect(problems).toEqual([
      { field: 'client_key', reason: expect.stringMatching(/not a PEM private key/) },
    ]);

    const garbled = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n';
    expect(checkTlsMaterial({ clientCert: client.cert, clientKey: garbled })).toEqual([
      { field: 'client_key', reason: 'does not parse as a private key' },
    ]);

    const encrypted = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
    }).privateKey;
    expect(checkTlsMaterial({ clientCert: client.cert, clientKey: encrypted })).toEqual([
      { field: 'client_key', reason: expect.stringMatching(/encrypted with a passphrase/) },
    ]);
  });

  it('wants the client certificate and key together', () => {
    expect(checkTlsMaterial({ clientCert: client.cert })).toEqual([
      { field: 'client_key', reason: 'is required with client_cert' },
    ]);
    expect(checkTlsMaterial({ clientKey: client.key })).toEqual([
      { field: 'client_cert', reason: 'is required with client_key' },
    ]);
  });

  it('refuses a key that is not the certificate’s (of the same type or another)', async () => {
    const other = await clientCa.issue({ cn: 'someone-else' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    for (const clientKey of [other.key, rsa]) {
      expect(checkTlsMaterial({ clientCert: client.cert, clientKey })).toEqual([
        { field: 'client_key', reason: expect.stringMatching(/does not match client_cert/) },
      ]);
    }
  });

  it('refuses expired and not yet valid certificates, naming the date', async () => {
    const expiredAt = new Date(Date.now() - HOUR);
    const expired = await clientCa.issue({
      cn: 'expired',
      notBefore: new Date(Date.now() - 2 * HOUR),
      notAfter: expiredAt,
    });
    expect(checkTlsMaterial({ clientCert: expired.cert, clientKey: expired.key })).toEqual([
      {
        field: 'client_cert',
        reason: `expired on ${new Date(Math.floor(expiredAt.getTime() / 1000) * 1000).toISOString()}`,
      },
    ]);

    const validFrom = new Date(Date.now() + HOUR);
    const future = await clientCa.issue({
      cn: 'future',
      notBefore: validFrom,
      notAfter: new Date(Date.now() + 2 * HOUR),
    });
    expect(checkTlsMaterial({ clientCert: future.cert, clientKey: future.key })).toEqual([
      {
        field: 'client_cert',
        reason: `is not valid before ${new Date(Math.floor(validFrom.getTime() / 1000) * 1000).toISOString()}`,
      },
    ]);

    const nextMonth = new Date(Date.now() + 30 * 24 * HOUR);
    expect(checkTlsMaterial({ caCert: serverCa.cert }, nextMonth)).toEqual([
      { field: 'ca_cert', reason: expect.stringMatching(/^expired on \d{4}-/) },
    ]);
  });

  it('refuses a ca_cert that is not a CA, naming which one of a bundle', async () => {
    const server = await serverCa.issue({ cn: 'deployer', server: true });
    expect(checkTlsMaterial({ caCert: server.cert })).toEqual([
      { field: 'ca_cert', reason: 'is not a CA certificate (no basicConstraints CA:TRUE)' },
    ]);
    expect(checkTlsMaterial({ caCert: serverCa.cert + server.cert })).toEqual([
      {
        field: 'ca_cert',
        reason: 'certificate 2 of 2 is not a CA certificate (no basicConstraints CA:TRUE)',
      },
    ]);
  });

  it('refuses a client certificate made for servers only', async () => {
    const server = await clientCa.issue({ cn: 'deployer', server: true });
    expect(checkTlsMaterial({ clientCert: server.cert, clientKey: server.key })).toEqual([
      { field: 'client_cert', reason: expect.stringMatching(/lacks clientAuth/) },
    ]);
  });

  it('reports every problem at once', () => {
    const problems = checkTlsMaterial({ caCert: 'x', clientCert: 'y' });
    expect(problems.map((problem) => problem.field).sort()).toEqual(['ca_cert', 'client_cert', 'client_key']);
  });
});

describe('certificateSummary', () => {
  it('shows subject, issuer, expiry and fingerprint of the first certificate, never a key', async () => {
    const ca = await createCertificateAuthority('summary CA');
    const leaf = await ca.issue({ cn: 'odc-coordinator' });
    const summary = certificateSummary(leaf.cert + ca.cert);
    expect(summary).toEqual({
      subject: 'CN=odc-coordinator',
      issuer: 'CN=summary CA',
      not_after: new X509Certificate(leaf.cert).validToDate.toISOString(),
      fingerprint_sha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
    expect(summary.fingerprint_sha256).toBe(new X509Certificate(leaf.cert).fingerprint256);
  });
});
