import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';

export const NAMESPACE = 'gpu-dev';

export function kubeconfigBase64(server: string): string {
  return Buffer.from(kubeConfigForServer(server).exportConfig()).toString('base64');
}

/** A reservation's objects in the test namespace. */
export function reservationSpec(externalId: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return sampleReservationSpec(externalId, NAMESPACE, overrides);
}
