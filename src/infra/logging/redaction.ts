/**
 * The one redaction list: what a credential looks like, by the name it goes under (a header, a
 * query parameter, a field, an SQL parameter list) and by its shape wherever it turns up in text
 * (a message, an error, a URL). Every log line passes through `redactLogObject` and `redactText`;
 * request URLs through `redactUrl`.
 */
import pino from 'pino';

export const REDACTED = '[redacted]';

/**
 * Names whose values are credentials, compared without case, `-` or `_`: headers and fields, and
 * TypeORM's `parameters` of a failed query (they held an API key's prefix and secret hash).
 */
const SECRET_FIELDS = new Set(
  [
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'api_key',
    'token',
    'access_token',
    'id_token',
    'refresh_token',
    'bearer_token',
    'password',
    'secret',
    'client_secret',
    'session_secret',
    'secret_hash',
    'private_key',
    'client_key',
    'client_key_encrypted',
    'token_encrypted',
    'master_key',
    'parameters',
  ].map(normalizeName),
);

/** Query parameters that carry a credential or a login's one-time values (the OIDC code and state). */
const SECRET_QUERY_PARAMS = new Set(
  [...SECRET_FIELDS, ...['key', 'code', 'state', 'apikey'].map(normalizeName)].filter(
    (name) => name !== 'parameters',
  ),
);

/** Text shapes that are credentials whatever they are called. */
const SECRET_SHAPES: { pattern: RegExp; replacement: string }[] = [
  // ODC API keys: odc_<prefix>_<secret>; the prefix alone finds the row, so both go.
  { pattern: /\bodc_[A-Za-z0-9]{6,}_[A-Za-z0-9_-]{16,}/g, replacement: `odc_${REDACTED}` },
  // JWTs (OIDC ID tokens, trusted issuers' tokens): header.payload.signature.
  { pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, replacement: REDACTED },
  {
    pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    replacement: REDACTED,
  },
  { pattern: /\b(Bearer|Basic)\s+[^\s"',;]+/gi, replacement: `$1 ${REDACTED}` },
  // A secret in a query string, whatever path it is on.
  {
    pattern: /([?&](?:api[_-]?key|key|token|access_token|id_token|code|state|password|secret)=)[^&#\s"']*/gi,
    replacement: `$1${REDACTED}`,
  },
];

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(normalizeName(name));
}

export function redactText(text: string): string {
  let out = text;
  for (const { pattern, replacement } of SECRET_SHAPES) {
    out = out.replace(pattern, replacement);
  }
  return out;
}

/** A request URL as logged: secret query parameters' values replaced, and secret shapes anywhere. */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) {
    return redactText(url);
  }
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of new Set(params.keys())) {
    if (SECRET_QUERY_PARAMS.has(normalizeName(name))) {
      params.set(name, REDACTED);
    }
  }
  const rebuilt = `${url.slice(0, query)}?${params.toString().replaceAll('%5Bredacted%5D', REDACTED)}`;
  return redactText(rebuilt);
}

const MAX_DEPTH = 12;

/**
 * A log line's object with every secret-named value replaced and every string redacted by shape;
 * binary values (a secret's hash, a key) never print. Returns new objects, never mutates (the log
 * call's arguments may be live data).
 */
export function redactLogObject(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return redactText(value);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) {
    return '[binary]';
  }
  if (value instanceof Error) {
    // Its message and stack are not own enumerable properties: serialise it as pino would, first.
    return redactLogObject(pino.stdSerializers.err(value), depth);
  }
  if (depth >= MAX_DEPTH) {
    return '[deep]';
  }
  if (Array.isArray(value)) {
    return value.map((item) => redactLogObject(item, depth + 1));
  }
  if (value instanceof Date) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value)) {
    out[name] =
      isSecretField(name) && inner !== undefined && inner !== null
        ? REDACTED
        : redactLogObject(inner, depth + 1);
  }
  return out;
}
