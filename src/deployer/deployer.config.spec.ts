import { loadConfig } from '../infra/config/load-config';
import { ServerConfig } from '../infra/config/server.config';
import { DeployerConfig } from './deployer.config';

const load = (env: Record<string, string>) => loadConfig([ServerConfig, DeployerConfig], env);

describe('DeployerConfig', () => {
  it('takes the TLS certificate and key together or not at all', () => {
    expect(() => load({ ODC_DEPLOYER_TLS_CERT: '/tls/tls.crt' })).toThrow(
      /ODC_DEPLOYER_TLS_KEY: ODC_DEPLOYER_TLS_CERT and ODC_DEPLOYER_TLS_KEY go together/,
    );
    expect(() => load({ ODC_DEPLOYER_TLS_KEY: '/tls/tls.key' })).toThrow(/ODC_DEPLOYER_TLS_CERT: /);
    expect(
      load({ ODC_DEPLOYER_TLS_CERT: '/tls/tls.crt', ODC_DEPLOYER_TLS_KEY: '/tls/tls.key' }),
    ).toMatchObject({
      ODC_DEPLOYER_TLS_CERT: '/tls/tls.crt',
    });
  });

  it('refuses client certificate names without a client CA to check them against', () => {
    expect(() => load({ ODC_DEPLOYER_ALLOWED_CLIENT_CNS: 'odc-coordinator' })).toThrow(
      /ODC_DEPLOYER_ALLOWED_CLIENT_CNS: .*needs ODC_DEPLOYER_CLIENT_CA/,
    );
    expect(() =>
      load({ ODC_DEPLOYER_ALLOWED_CLIENT_CNS: 'odc-coordinator', ODC_DEPLOYER_CLIENT_CA: '/tls/ca.crt' }),
    ).not.toThrow();
  });

  it('starts a simulated cluster by default in development only', () => {
    expect(load({}).deployerSimulator).toBe(true);
    expect(load({ NODE_ENV: 'test' }).deployerSimulator).toBe(false);
    expect(load({ NODE_ENV: 'test', ODC_DEPLOYER_SIMULATOR: 'true' }).deployerSimulator).toBe(true);
  });
});
