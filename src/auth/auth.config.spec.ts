import { loadConfig } from '../infra/config/load-config';
import { ServerConfig } from '../infra/config/server.config';
import { AuthConfig } from './auth.config';

const load = (env: Record<string, string>) => loadConfig([ServerConfig, AuthConfig], env);

const OIDC = {
  ODC_OIDC_ISSUER: 'https://login.example.com',
  ODC_OIDC_CLIENT_ID: 'odc',
  ODC_OIDC_CLIENT_SECRET: 'client-secret',
  ODC_OIDC_REDIRECT_URL: 'https://odc.example.com/auth/callback',
};

describe('AuthConfig', () => {
  it('asks an OIDC issuer for its client and redirect URL', () => {
    expect(() => load({ ODC_OIDC_ISSUER: OIDC.ODC_OIDC_ISSUER })).toThrow(
      /ODC_OIDC_CLIENT_ID is required with ODC_OIDC_ISSUER[\s\S]*ODC_OIDC_CLIENT_SECRET is required[\s\S]*ODC_OIDC_REDIRECT_URL is required/,
    );
    expect(() => load(OIDC)).not.toThrow();
  });

  it('requires a session secret for OIDC in production, and never shows it', () => {
    expect(() => load({ ...OIDC, NODE_ENV: 'production' })).toThrow(
      /ODC_SESSION_SECRET: .*required for OIDC/,
    );
    expect(() => load({ NODE_ENV: 'production' })).not.toThrow();
    const short = 'too-short-a-secret';
    expect(() => load({ ...OIDC, ODC_SESSION_SECRET: short })).toThrow(
      /ODC_SESSION_SECRET: .*\(got \*\*\*\)/,
    );
  });

  it('parses the trusted JWT issuers', () => {
    const issuers = [{ issuer: 'https://token.actions.githubusercontent.com', audience: 'odc' }];
    expect(load({ ODC_JWT_ISSUERS: JSON.stringify(issuers) }).jwtIssuers).toEqual(issuers);
    expect(() => load({ ODC_JWT_ISSUERS: '[{"issuer": "ftp://x"}]' })).toThrow(
      /ODC_JWT_ISSUERS must be a JSON list/,
    );
  });
});
