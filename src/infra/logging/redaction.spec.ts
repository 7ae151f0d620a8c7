import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACTING_OPTIONS } from './logger';
import { redactLogObject, redactText, redactUrl } from './redaction';

const API_KEY = 'odc_AbCdEf123456_' + 'S'.repeat(43);
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';

/** What a pino logger with production's options writes, as text. */
function written(log: (logger: pino.Logger) => void): string {
  let out = '';
  const logger = pino(
    REDACTING_OPTIONS,
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        out += chunk.toString();
        done();
      },
    }),
  );
  log(logger);
  return out;
}

describe('log redaction: one list, every place a credential can appear', () => {
  it.each([
    ['api_key', `/api/v1/me?api_key=${API_KEY}`],
    ['apiKey', `/api/v1/me?apiKey=abc`],
    ['access_token', `/x?access_token=abc&keep=1`],
    ['code and state', `/auth/callback?code=abc&state=def`],
    ['key', `http://127.0.0.1:5/callback?state=s&key=${API_KEY}`],
  ])('redacts %s in request URLs', (_name, url) => {
    const logged = redactUrl(url);
    expect(logged).not.toMatch(/=(abc|def|s)(&|$)/);
    expect(logged).not.toContain(API_KEY.slice(17));
    expect(logged).toContain('[redacted]');
  });

  it('keeps what is not a credential', () => {
    expect(redactUrl('/api/v1/audit?user=alice&limit=5')).toBe('/api/v1/audit?user=alice&limit=5');
    expect(redactLogObject({ code: 'validation_failed', state: 'active', key_id: 'ab12' })).toEqual({
      code: 'validation_failed',
      state: 'active',
      key_id: 'ab12',
    });
  });

  it('redacts API keys, JWTs, private keys and bearer credentials by shape in any text', () => {
    const text = redactText(`key ${API_KEY}, token ${JWT}, ${PEM}, Authorization: Bearer abc.def`);
    for (const secret of [API_KEY.slice(4), JWT, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'abc.def']) {
      expect(text).not.toContain(secret);
    }
  });

  it('never writes a failed query’s parameters (an API key’s prefix and secret hash) nor secret-named fields', () => {
    const failed = Object.assign(new Error('duplicate key value violates unique constraint'), {
      query: 'INSERT INTO api_keys (prefix, secret_hash) VALUES ($1, $2)',
      parameters: ['AbCdEf123456', Buffer.from('hash-of-the-secret')],
    });
    const out = written((logger) => {
      logger.error({ err: failed, requestId: 'r1' }, 'unhandled error');
      logger.info({ cluster: { token: 'tok-123', client_key: PEM, name: 'east' } }, `sent ${API_KEY}`);
      logger.warn({ headers: { authorization: `Bearer ${API_KEY}`, cookie: 'odc.sid=s3cr3t' } });
    });
    for (const secret of [
      'AbCdEf123456',
      'hash-of-the-secret',
      'tok-123',
      'MIIEvQ',
      API_KEY.slice(17),
      's3cr3t',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('duplicate key value');
    expect(out).toContain('INSERT INTO api_keys');
    expect(out).toContain('"name":"east"');
  });
});
