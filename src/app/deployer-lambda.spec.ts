import { ConfigError } from '../infra/config/load-config';
import { loadLambdaConfig } from './deployer-lambda';

describe('loadLambdaConfig', () => {
  it('runs the deployer alone, in production, with no database to configure', () => {
    const config = loadLambdaConfig({ ODC_DEPLOYER_TOKEN: 'secret-token-0123456789' });
    expect([...config.roles]).toEqual(['deployer']);
    expect(config.NODE_ENV).toBe('production');
    expect(config.deployerSimulator).toBe(false);
    expect(config.logFormat).toBe('json');
  });

  it('refuses other roles, client-certificate settings, and a missing bearer token, all at once', () => {
    const attempt = () =>
      loadLambdaConfig({ ODC_ROLES: 'coordinator,deployer', ODC_DEPLOYER_CLIENT_CA: '/tls/ca.crt' });
    expect(attempt).toThrow(ConfigError);
    let problems: string[] = [];
    try {
      attempt();
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'ODC_ROLES',
      'ODC_DEPLOYER_CLIENT_CA / ODC_DEPLOYER_ALLOWED_CLIENT_CNS',
      'ODC_DEPLOYER_TOKEN',
    ]);
  });

  it('does without the token when API Gateway authenticates callers (ODC_DEPLOYER_INSECURE=true)', () => {
    expect(loadLambdaConfig({ ODC_DEPLOYER_INSECURE: 'true' }).ODC_DEPLOYER_TOKEN).toBeUndefined();
  });

  it('reports invalid variables as the long-running process does', () => {
    expect(() =>
      loadLambdaConfig({ ODC_DEPLOYER_TOKEN: 'secret-token-0123456789', ODC_LOG_LEVEL: 'loud' }),
    ).toThrow(/ODC_LOG_LEVEL/);
  });
});
