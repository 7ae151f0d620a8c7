/** How long an issuer's discovery document or key set may take to arrive. */
export const ISSUER_TIMEOUT_MS = 5_000;

/** The parts of an OpenID Provider's discovery document ODC reads. */
export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
}

/**
 * `<issuer>/.well-known/openid-configuration`, checked to be for this issuer (OpenID Connect
 * Discovery §4.3: a document naming another issuer must not be used). Redirects are not followed.
 */
export async function discover(issuer: string, fetchFn: typeof fetch = fetch): Promise<DiscoveryDocument> {
  const location = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetchFn(location, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`discovery answered HTTP ${response.status}`);
  }
  const document: unknown = await response.json();
  if (typeof document !== 'object' || document === null) {
    throw new Error('the discovery document is not a JSON object');
  }
  const fields = document as Record<string, unknown>;
  if (fields.issuer !== issuer) {
    throw new Error('the discovery document names another issuer');
  }
  if (typeof fields.jwks_uri !== 'string') {
    throw new Error('the discovery document has no jwks_uri');
  }
  const endpoint = (name: string) => {
    const value = fields[name];
    return typeof value === 'string' ? httpUrl(value).href : undefined;
  };
  return {
    issuer,
    jwks_uri: httpUrl(fields.jwks_uri).href,
    authorization_endpoint: endpoint('authorization_endpoint'),
    token_endpoint: endpoint('token_endpoint'),
    userinfo_endpoint: endpoint('userinfo_endpoint'),
  };
}

export function httpUrl(value: string): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${url.protocol} is not http(s)`);
  }
  return url;
}
