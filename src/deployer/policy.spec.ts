import type { DeploymentSpec, Manifest } from './contract';
import { checkPolicy, enforced, manifestViolations, type DeployerPolicy } from './policy';

const policy: DeployerPolicy = {
  namespaces: ['gpu-dev'],
  maxGpus: 8,
  maxCpu: '64',
  maxMemory: '512Gi',
  maxReplicas: 1,
  maxVolumeSize: '2Ti',
  allowedCapabilities: ['SYS_PTRACE'],
  allowedCsiDrivers: ['ebs.csi.aws.com'],
  allowLoadBalancer: false,
  allowNodePort: true,
  podServiceAccount: 'default',
};

const deployment = (
  podSpec: Record<string, unknown> = {},
  container: Record<string, unknown> = {},
): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'res-1', namespace: 'gpu-dev' },
  spec: {
    selector: { matchLabels: { app: 'res-1' } },
    template: {
      metadata: { labels: { app: 'res-1' } },
      spec: { containers: [{ name: 'main', image: 'pytorch:2', ...container }], ...podSpec },
    },
  },
});

const spec = (parts: Partial<DeploymentSpec>): DeploymentSpec => ({
  metadata: { external_id: 'res-1', reservation_id: 'r1', user_id: 'u1', username: 'alice', spec_version: 1 },
  ...parts,
});

const violationsOf = (parts: Partial<DeploymentSpec>) => checkPolicy(spec(parts), policy);

describe('deployer policy', () => {
  it('accepts a well-behaved spec', () => {
    expect(
      violationsOf({
        deployment: deployment(
          {},
          {
            resources: { limits: { 'nvidia.com/gpu': '8', cpu: '32', memory: '256Gi' } },
            securityContext: { capabilities: { add: ['SYS_PTRACE'] } },
          },
        ),
        service: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 's', namespace: 'gpu-dev' },
          spec: { type: 'ClusterIP' },
        },
      }),
    ).toEqual([]);
  });

  it.each([
    [
      'a namespace outside the allowed ones',
      { deployment: { ...deployment(), metadata: { name: 'x', namespace: 'kube-system' } } },
      'deployment.metadata.namespace',
    ],
    [
      'a kind that field may not carry',
      { service: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'gpu-dev' } } },
      'service.kind',
    ],
    [
      'a privileged container',
      { deployment: deployment({}, { securityContext: { privileged: true } }) },
      'deployment.spec.template.spec.containers[0].securityContext.privileged',
    ],
    [
      'a hostPath volume',
      { deployment: deployment({ volumes: [{ name: 'root', hostPath: { path: '/' } }] }) },
      'deployment.spec.template.spec.volumes[0].hostPath',
    ],
    [
      'hostNetwork',
      { deployment: deployment({ hostNetwork: true }) },
      'deployment.spec.template.spec.hostNetwork',
    ],
    [
      'hostPID',
      {
        pod: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'gpu-dev' },
          spec: { hostPID: true, containers: [] },
        },
      },
      'pod.spec.hostPID',
    ],
    ['hostIPC', { deployment: deployment({ hostIPC: true }) }, 'deployment.spec.template.spec.hostIPC'],
    [
      'a capability off the allowlist',
      { deployment: deployment({}, { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }) },
      'deployment.spec.template.spec.containers[0].securityContext.capabilities.add',
    ],
    [
      'a LoadBalancer service',
      {
        service: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 's', namespace: 'gpu-dev' },
          spec: { type: 'LoadBalancer' },
        },
      },
      'service.spec.type',
    ],
    [
      'too many GPUs',
      { deployment: deployment({}, { resources: { limits: { 'nvidia.com/gpu': '16' } } }) },
      'deployment.spec.template.spec.containers[0].resources',
    ],
    [
      'too much cpu',
      { deployment: deployment({}, { resources: { requests: { cpu: '65' } } }) },
      'deployment.spec.template.spec.containers[0].resources',
    ],
    [
      'too much memory',
      { deployment: deployment({}, { resources: { limits: { memory: '1Ti' } } }) },
      'deployment.spec.template.spec.containers[0].resources',
    ],
    [
      'a hostPath PersistentVolume',
      {
        persistent_volumes: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: 'pv' },
            spec: { hostPath: { path: '/etc' } },
          },
        ],
      },
      'persistent_volumes[0].spec.hostPath',
    ],
    [
      'a cpu request that is not a quantity',
      { deployment: deployment({}, { resources: { requests: { cpu: 'lots' } } }) },
      'deployment.spec.template.spec.containers[0].resources',
    ],
    [
      'a GPU limit that is not a quantity',
      { deployment: deployment({}, { resources: { limits: { 'nvidia.com/gpu': { many: true } } } }) },
      'deployment.spec.template.spec.containers[0].resources',
    ],
    [
      'a claim size that is not a quantity',
      {
        persistent_volume_claims: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'c', namespace: 'gpu-dev' },
            spec: { resources: { requests: { storage: 'lots' } } },
          },
        ],
      },
      'persistent_volume_claims[0].spec.resources.requests.storage',
    ],
    [
      'a static PersistentVolume of a CSI driver not allowed',
      {
        persistent_volumes: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: 'pv' },
            spec: { capacity: { storage: '1Ti' }, csi: { driver: 'nfs.csi.k8s.io', volumeHandle: 'x' } },
          },
        ],
      },
      'persistent_volumes[0].spec.csi.driver',
    ],
    [
      'a claim larger than the maximum volume size',
      {
        persistent_volume_claims: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'big', namespace: 'gpu-dev' },
            spec: { resources: { requests: { storage: '3Ti' } } },
          },
        ],
      },
      'persistent_volume_claims[0].spec.resources.requests.storage',
    ],
  ] as [string, Partial<DeploymentSpec>, string][])('refuses %s', (_rule, parts, path) => {
    const violations = violationsOf(parts);
    expect(violations.map((v) => v.path)).toEqual([path]);
    expect(violations[0].rule).toEqual(expect.any(String));
  });
});

describe('shapes the rules rely on', () => {
  it.each([
    [
      'containers that are not a list',
      deployment({ containers: { evil: { securityContext: { privileged: true } } } }),
      'deployment.spec.template.spec.containers',
      'must be a list',
    ],
    [
      'a container that is not an object',
      deployment({ containers: ['x'] }),
      'deployment.spec.template.spec.containers[0]',
      'must be an object',
    ],
    [
      'capabilities.add that is not a list',
      deployment({}, { securityContext: { capabilities: { add: 'SYS_ADMIN' } } }),
      'deployment.spec.template.spec.containers[0].securityContext.capabilities.add',
      'must be a list',
    ],
    [
      'a pod template that is not an object',
      { ...deployment(), spec: { template: 'x' } },
      'deployment.spec.template',
      'must be an object',
    ],
  ] as [string, Manifest, string, string][])(
    'refuses %s (the rules could not see into it)',
    (_case, manifest, path, rule) => {
      expect(violationsOf({ deployment: manifest })).toEqual([{ path, rule }]);
    },
  );

  it('reads null as unset, as Kubernetes does', () => {
    expect(violationsOf({ deployment: deployment({ initContainers: null, volumes: null }) })).toEqual([]);
  });

  it('holds an imported snapshot’s content to the allowed CSI drivers and namespaces', () => {
    const content = (driver: string, namespace: string): Manifest => ({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotContent',
      metadata: { name: 'odc-gpu-dev-s-0123abcd' }, // cluster-scoped: no namespace of its own
      spec: {
        deletionPolicy: 'Retain',
        driver,
        source: { snapshotHandle: 'snap-1' },
        volumeSnapshotRef: { name: 's', namespace },
      },
    });
    expect(manifestViolations(content('ebs.csi.aws.com', 'gpu-dev'), 'source', policy)).toEqual([]);
    expect(manifestViolations(content('nfs.csi.k8s.io', 'kube-system'), 'source', policy)).toEqual([
      { path: 'source.spec.driver', rule: 'CSI driver nfs.csi.k8s.io is not allowed' },
      { path: 'source.spec.volumeSnapshotRef.namespace', rule: 'namespace must be one of: gpu-dev' },
    ]);
  });
});

describe('managed labels', () => {
  it('are forced onto the object and its pod template, over whatever was sent', () => {
    const sent = {
      ...deployment(),
      metadata: { name: 'res-1', namespace: 'gpu-dev', labels: { 'odc.dev/external-id': 'someone-else' } },
    };
    const labelled = enforced(sent, 'res-1') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    expect(labelled.metadata.labels).toEqual({
      'odc.dev/external-id': 'res-1',
      'app.kubernetes.io/managed-by': 'odc-deployer',
    });
    expect(labelled.spec.template.metadata.labels).toMatchObject({
      app: 'res-1',
      'odc.dev/external-id': 'res-1',
    });
  });
});
