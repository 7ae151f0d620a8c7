import { KubeConfig } from '@kubernetes/client-node';
import type { DeploymentSpec } from '../../src/deployer/contract';

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

/** The seven objects of a reservation, as the coordinator will build them. */
export function reservationSpec(externalId: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const labels = { app: externalId };
  const meta = (name: string) => ({ name, namespace: NAMESPACE });
  return {
    metadata: {
      external_id: externalId,
      reservation_id: `r-${externalId}`,
      user_id: 'u-1',
      username: 'alice',
      spec_version: 1,
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
      spec: { selector: labels, ports: [{ name: 'ssh', port: 22 }] },
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
