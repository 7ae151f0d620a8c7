import { KubeConfig } from '@kubernetes/client-node';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';

export const NAMESPACE = 'gpu-dev';

export function kubeconfigBase64(server: string): string {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sim', server, skipTLSVerify: true }],
    users: [{ name: 'sim' }],
    contexts: [{ name: 'sim', cluster: 'sim', user: 'sim' }],
    currentContext: 'sim',
  });
  return Buffer.from(kc.exportConfig()).toString('base64');
}

/** A reservation's objects in the test namespace. */
export function reservationSpec(externalId: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return sampleReservationSpec(externalId, NAMESPACE, overrides);
}
