import { SPEC_VERSION, type DeploymentSpec } from './contract';

/**
 * The objects of one GPU reservation, shaped as the coordinator builds them: keys ConfigMap,
 * scratch PVC, SSH Service (NodePort), Deployment with GPUs, Jupyter Ingress, PDB. Tests, the
 * benchmark and the docs use it as the example of a deployment spec.
 */
export function sampleReservationSpec(
  externalId: string,
  namespace: string,
  overrides: Partial<DeploymentSpec> = {},
): DeploymentSpec {
  const labels = { app: externalId };
  const meta = (name: string) => ({ name, namespace });
  return {
    metadata: {
      external_id: externalId,
      reservation_id: `r-${externalId}`,
      user_id: 'u-1',
      username: 'alice',
      spec_version: SPEC_VERSION,
    },
    config_maps: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(`${externalId}-keys`),
        data: { authorized_keys: 'ssh-ed25519 AAAA alice' },
      },
    ],
    persistent_volume_claims: [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: meta(`${externalId}-scratch`),
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
      },
    ],
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(externalId),
      spec: { type: 'NodePort', selector: labels, ports: [{ name: 'ssh', port: 22 }] },
    },
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(externalId),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              { name: 'dev', image: 'pytorch:2', resources: { limits: { 'nvidia.com/gpu': '2' } } },
            ],
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
          },
        },
      },
    },
    ingress: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(externalId),
      spec: { rules: [{ host: `${externalId}.gpu.example.com` }] },
    },
    pod_disruption_budget: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(externalId),
      spec: { maxUnavailable: 0, selector: { matchLabels: labels } },
    },
    ...overrides,
  };
}
