import { loadAppConfig } from '../../app/config';
import { resolveKubeAccess } from './kube-access';

/** Broken YAML whose parser error would quote the lines around it: the token and the key. */
const BROKEN =
  'users:\n- name: u\n  user:\n    token: SUPERSECRETTOKEN123\n    client-key-data: S3CR3TKEY\n  [unclosed';

describe('resolveKubeAccess', () => {
  it('says which kubeconfig is broken without quoting it (tokens and keys live there)', async () => {
    const config = loadAppConfig({
      NODE_ENV: 'test',
      ODC_ROLES: 'deployer',
      ODC_KUBECONFIG_BASE64: Buffer.from(BROKEN).toString('base64'),
    });
    const failure = (await resolveKubeAccess(config).then(
      () => undefined,
      (error: unknown) => error,
    )) as Error;
    expect(failure).toBeInstanceOf(Error);
    expect(failure.message).toMatch(/^ODC_KUBECONFIG_BASE64 does not hold a kubeconfig: /);
    expect(failure.message).not.toMatch(/SUPERSECRET|S3CR3T/);
    expect(failure.cause).toBeUndefined();
  });

  it('refuses a kubeconfig without a current cluster', async () => {
    const config = loadAppConfig({
      NODE_ENV: 'test',
      ODC_ROLES: 'deployer',
      ODC_KUBECONFIG_BASE64: Buffer.from('apiVersion: v1\nkind: Config\n').toString('base64'),
    });
    await expect(resolveKubeAccess(config)).rejects.toThrow(
      'The kubeconfig in ODC_KUBECONFIG_BASE64 has no current context with a cluster',
    );
  });
});
