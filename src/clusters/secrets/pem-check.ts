/**
 * Checks of the mTLS material an admin registers for a cluster, so a typo or an expired certificate
 * is refused with a reason at registration rather than surfacing later as a TLS failure of every call.
 *
 * The client certificate is deliberately not checked against ca_cert: ca_cert pins the CA of the
 * deployer's *server* certificate, while the client certificate is signed by whatever CA the
 * deployer trusts for clients (ODC_DEPLOYER_CLIENT_CA on its side), which may be another one.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export type TlsField = 'ca_cert' | 'client_cert' | 'client_key';

export interface TlsProblem {
  field: TlsField;
  reason: string;
}

export interface TlsMaterial {
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
}

/** What the API shows of a certificate (the private key is never shown). */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  not_after: string;
  /** As `openssl x509 -noout -fingerprint -sha256` prints it, to compare at a glance. */
  fingerprint_sha256: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** Every problem with the material (empty when it is fine); fields not given are not checked. */
export function checkTlsMaterial(input: TlsMaterial, now = new Date()): TlsProblem[] {
  const problems: TlsProblem[] = [];
  const report = (field: TlsField) => (reason: string) => problems.push({ field, reason });

  if (input.caCert !== undefined) {
    const caCerts = parseCertificates(input.caCert, report('ca_cert'));
    caCerts?.forEach((cert, index) => {
      const which = ordinal(index, caCerts.length);
      checkValidity(cert, which, now, report('ca_cert'));
      if (!cert.ca) {
        report('ca_cert')(`${which}is not a CA certificate (no basicConstraints CA:TRUE)`);
      }
    });
  }

  const clientCerts =
    input.clientCert === undefined ? undefined : parseCertificates(input.clientCert, report('client_cert'));
  clientCerts?.forEach((cert, index) =>
    checkValidity(cert, ordinal(index, clientCerts.length), now, report('client_cert')),
  );
  const leaf = clientCerts?.[0];
  if (leaf && !allowsClientAuth(leaf)) {
    report('client_cert')('is not for client authentication (its extended key usage lacks clientAuth)');
  }

  const key =
    input.clientKey === undefined ? undefined : parsePrivateKey(input.clientKey, report('client_key'));
  if (input.clientCert !== undefined && input.clientKey === undefined) {
    report('client_key')('is required with client_cert');
  }
  if (input.clientKey !== undefined && input.clientCert === undefined) {
    report('client_cert')('is required with client_key');
  }
  if (leaf && key && !keyMatches(leaf, key)) {
    report('client_key')('does not match client_cert (the certificate is for another key)');
  }
  return problems;
}

/** The first certificate of a PEM (as validated at registration): for API responses. */
export function certificateSummary(pem: string): CertificateSummary {
  const cert = new X509Certificate(pemBlocks(pem)[0]?.text ?? pem);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    not_after: cert.validToDate.toISOString(),
    fingerprint_sha256: cert.fingerprint256,
  };
}

function pemBlocks(pem: string): { label: string; text: string }[] {
  return [...pem.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1] ?? '', text: match[0] }));
}

/** The certificates of a PEM bundle, or undefined (after reporting why) when it is not one. */
function parseCertificates(pem: string, report: (reason: string) => void): X509Certificate[] | undefined {
  const blocks = pemBlocks(pem);
  if (blocks.some((block) => block.label.endsWith('PRIVATE KEY'))) {
    // Said first: stored as given, a key here would sit in the database unencrypted.
    report('contains a private key; it belongs in client_key, which is stored encrypted');
    return undefined;
  }
  const other = blocks.find((block) => block.label !== 'CERTIFICATE');
  if (blocks.length === 0 || other) {
    report(
      other
        ? `contains a ${other.label} block, not only certificates`
        : 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)',
    );
    return undefined;
  }
  const certs: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block.text));
    } catch {
      report(`${ordinal(index, blocks.length)}does not parse as an X.509 certificate`);
      return undefined;
    }
  }
  return certs;
}

function parsePrivateKey(pem: string, report: (reason: string) => void): KeyObject | undefined {
  if (ENCRYPTED_KEY.test(pem)) {
    report(
      'is encrypted with a passphrase; give it unencrypted (ODC stores it encrypted itself), e.g. from `openssl pkey -in key.pem`',
    );
    return undefined;
  }
  if (!PRIVATE_KEY_BLOCK.test(pem)) {
    report('is not a PEM private key (-----BEGIN PRIVATE KEY-----)');
    return undefined;
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // Node's message is not repeated: it could quote part of the key.
    report('does not parse as a private key');
    return undefined;
  }
}

function checkValidity(
  cert: X509Certificate,
  which: string,
  now: Date,
  report: (reason: string) => void,
): void {
  if (now > cert.validToDate) {
    report(`${which}expired on ${cert.validToDate.toISOString()}`);
  }
  if (now < cert.validFromDate) {
    report(`${which}is not valid before ${cert.validFromDate.toISOString()}`);
  }
}

/** A certificate without extended key usage may be used for anything; with one, it must allow clients. */
function allowsClientAuth(cert: X509Certificate): boolean {
  const usages = cert.keyUsage as string[] | undefined;
  return !usages || usages.includes(CLIENT_AUTH) || usages.includes(ANY_EXTENDED_KEY_USAGE);
}

function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false; // e.g. an RSA key for an EC certificate
  }
}

/** "certificate 2 of 3 " in a bundle; nothing for a single certificate. */
function ordinal(index: number, total: number): string {
  return total > 1 ? `certificate ${index + 1} of ${total} ` : '';
}

/** Node prints one attribute per line (`CN=a\nO=b`); the API shows `CN=a, O=b`. */
function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}
