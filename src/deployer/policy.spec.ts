import type { DeploymentSpec, Manifest } from './contract';
import { checkPolicy, enforced, manifestViolations, type DeployerPolicy } from './policy';

const policy: DeployerPolicy = {
  namespaces: ['gpu-dev'],
  maxGpus: 8,
  maxCpu: '64',
  maxMemory: '512Gi',
  maxReplicas: 1,
  maxVolumeSize: '2Ti',
  allowedCapabilities: ['SYS_PTRACE', 'NET_BIND_SERVICE'],
  allowedCsiDrivers: ['ebs.csi.aws.com'],
  allowLoadBalancer: false,
  allowNodePort: true,
  podServiceAccount: 'default',
  allowEphemeralVolumes: false,
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
            securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } },
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
    expect(violations[0]!.rule).toEqual(expect.any(String));
  });
});

const POD = 'deployment.spec.template.spec';
const claim = (name: string, claimSpec: Record<string, unknown> = {}): Manifest => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'gpu-dev' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, ...claimSpec },
});
const mounting = (claimName: string) => ({
  volumes: [{ name: 'home', persistentVolumeClaim: { claimName } }],
});
const ephemeral = (claimSpec: Record<string, unknown>) => ({
  volumes: [
    {
      name: 'scratch',
      ephemeral: {
        volumeClaimTemplate: {
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '10Gi' } },
            ...claimSpec,
          },
        },
      },
    },
  ],
});
const gpus = (count: string, resource = 'nvidia.com/gpu') => ({
  resources: { limits: { [resource]: count } },
});
const sidecar = (count: string) => ({ name: 'side', image: 'x', restartPolicy: 'Always', ...gpus(count) });
const withAnnotations = (annotations: Record<string, string>): Manifest => {
  const manifest = deployment();
  (manifest.spec as { template: { metadata: Record<string, unknown> } }).template.metadata.annotations =
    annotations;
  return manifest;
};

/** Each case: what is sent, and the one path (with a word of its rule) the 422 names. */
describe('deployer policy: claims, ephemeral volumes, Pod Security baseline, GPUs, disk labels', () => {
  it.each([
    [
      'a pod mounting a claim the spec neither creates nor names as its disk',
      { deployment: deployment(mounting('odc-disk-0123456789ab-g1')) },
      `${POD}.volumes[0].persistentVolumeClaim.claimName`,
      'claim',
    ],
    [
      'a disk claim named in the metadata, mounted by a pod that names another',
      {
        metadata: { ...spec({}).metadata, disk_claim: 'odc-disk-mine' },
        deployment: deployment(mounting('odc-disk-theirs')),
      },
      `${POD}.volumes[0].persistentVolumeClaim.claimName`,
      'claim',
    ],
    [
      'an ephemeral volume (not allowed by this policy)',
      { deployment: deployment(ephemeral({})) },
      `${POD}.volumes[0].ephemeral`,
      'ephemeral',
    ],
    [
      'a claim of the spec that starts from another claim (a copy of its data)',
      {
        persistent_volume_claims: [
          claim('c', { dataSource: { kind: 'PersistentVolumeClaim', name: 'odc-disk-theirs' } }),
        ],
      },
      'persistent_volume_claims[0].spec.dataSource',
      'POST /volumes',
    ],
    [
      'a spec object labelled as a persistent disk',
      {
        persistent_volume_claims: [
          {
            ...claim('c'),
            metadata: { name: 'c', namespace: 'gpu-dev', labels: { 'odc.dev/persistent-disk': 'x' } },
          },
        ],
      },
      'persistent_volume_claims[0].metadata.labels.odc.dev/persistent-disk',
      'persistent-disk',
    ],
    [
      'a pod template annotated as a persistent disk',
      { deployment: withAnnotations({ 'odc.dev/persistent-disk': 'x' }) },
      'deployment.spec.template.metadata.annotations.odc.dev/persistent-disk',
      'persistent-disk',
    ],
    [
      'an unconfined AppArmor annotation',
      {
        deployment: withAnnotations({ 'container.apparmor.security.beta.kubernetes.io/main': 'unconfined' }),
      },
      'deployment.spec.template.metadata.annotations.container.apparmor.security.beta.kubernetes.io/main',
      'AppArmor',
    ],
    [
      'an unconfined seccomp annotation',
      { deployment: withAnnotations({ 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' }) },
      'deployment.spec.template.metadata.annotations.seccomp.security.alpha.kubernetes.io/pod',
      'seccomp',
    ],
    [
      'an AppArmor profile type other than RuntimeDefault or Localhost (pod)',
      { deployment: deployment({ securityContext: { appArmorProfile: { type: 'unconfined' } } }) },
      `${POD}.securityContext.appArmorProfile.type`,
      'AppArmor',
    ],
    [
      'an unconfined AppArmor profile (container)',
      { deployment: deployment({}, { securityContext: { appArmorProfile: { type: 'Unconfined' } } }) },
      `${POD}.containers[0].securityContext.appArmorProfile.type`,
      'AppArmor',
    ],
    [
      'an unconfined seccomp profile (pod)',
      { deployment: deployment({ securityContext: { seccompProfile: { type: 'Unconfined' } } }) },
      `${POD}.securityContext.seccompProfile.type`,
      'seccomp',
    ],
    [
      'a host port of an init container',
      {
        deployment: deployment({
          initContainers: [{ name: 'i', image: 'x', ports: [{ containerPort: 80, hostPort: 80 }] }],
        }),
      },
      `${POD}.initContainers[0].ports[0].hostPort`,
      'host port',
    ],
    [
      'a capability on the allowlist but beyond Pod Security baseline',
      { deployment: deployment({}, { securityContext: { capabilities: { add: ['SYS_PTRACE'] } } }) },
      `${POD}.containers[0].securityContext.capabilities.add`,
      'SYS_PTRACE',
    ],
    [
      'a custom SELinux user',
      { deployment: deployment({}, { securityContext: { seLinuxOptions: { user: 'system_u' } } }) },
      `${POD}.containers[0].securityContext.seLinuxOptions`,
      'SELinux',
    ],
    [
      'an SELinux type off the list',
      { deployment: deployment({ securityContext: { seLinuxOptions: { type: 'spc_t' } } }) },
      `${POD}.securityContext.seLinuxOptions.type`,
      'SELinux',
    ],
    [
      'an unmasked /proc',
      { deployment: deployment({}, { securityContext: { procMount: 'Unmasked' } }) },
      `${POD}.containers[0].securityContext.procMount`,
      '/proc',
    ],
    [
      'a sysctl outside the safe set',
      { deployment: deployment({ securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } }) },
      `${POD}.securityContext.sysctls[0].name`,
      'kernel.msgmax',
    ],
    [
      'a Windows host process',
      { deployment: deployment({}, { securityContext: { windowsOptions: { hostProcess: true } } }) },
      `${POD}.containers[0].securityContext.windowsOptions.hostProcess`,
      'host process',
    ],
    [
      'a probe that names a host',
      {
        deployment: deployment(
          {},
          { livenessProbe: { httpGet: { host: '169.254.169.254', path: '/', port: 80 } } },
        ),
      },
      `${POD}.containers[0].livenessProbe.httpGet.host`,
      'host',
    ],
    [
      'a lifecycle hook that names a host',
      {
        deployment: deployment({}, { lifecycle: { preStop: { tcpSocket: { host: '10.0.0.1', port: 22 } } } }),
      },
      `${POD}.containers[0].lifecycle.preStop.tcpSocket.host`,
      'host',
    ],
    [
      'ulimits',
      {
        deployment: deployment({}, { securityContext: { ulimits: [{ name: 'nofile', soft: 1, hard: 1 }] } }),
      },
      `${POD}.containers[0].securityContext.ulimits`,
      'ulimits',
    ],
    [
      'GPUs through Dynamic Resource Allocation',
      {
        deployment: deployment({
          resourceClaims: [{ name: 'gpu', resourceClaimName: 'someone-elses-gpus' }],
        }),
      },
      `${POD}.resourceClaims`,
      'Dynamic Resource Allocation',
    ],
    [
      'GPUs of a sidecar (restartable init container) on top of the containers’',
      { deployment: deployment({ initContainers: [sidecar('4')] }, gpus('8')) },
      `${POD}.containers[0].resources`,
      'GPUs',
    ],
    [
      'GPUs of an init container over the cap',
      { deployment: deployment({ initContainers: [{ name: 'i', image: 'x', ...gpus('9') }] }) },
      `${POD}.initContainers[0].resources`,
      'GPUs',
    ],
    [
      'shared GPUs (nvidia.com/gpu.shared) over the cap',
      { deployment: deployment({}, gpus('16', 'nvidia.com/gpu.shared')) },
      `${POD}.containers[0].resources`,
      'GPUs',
    ],
    [
      'GPUs and MIG slices together over the cap',
      {
        deployment: deployment(
          {},
          { resources: { limits: { 'nvidia.com/gpu': '4', 'nvidia.com/mig-1g.10gb': '5' } } },
        ),
      },
      `${POD}.containers[0].resources`,
      'GPUs',
    ],
    [
      'pod-level resources over the cap',
      { deployment: deployment({ resources: { requests: { memory: '1Ti' } } }) },
      `${POD}.resources`,
      'memory',
    ],
    [
      'ConfigMap data that is not text',
      {
        config_maps: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'k', namespace: 'gpu-dev' },
            data: { a: { b: 'c' } },
          },
        ],
      },
      'config_maps[0].data.a',
      'string',
    ],
  ] as [string, Partial<DeploymentSpec>, string, string][])('refuses %s', (_rule, parts, path, word) => {
    const violations = violationsOf(parts);
    expect(violations.map((v) => v.path)).toEqual([path]);
    expect(violations[0]!.rule).toContain(word);
  });

  it.each([
    [
      'a pod mounting a claim the spec creates',
      {
        persistent_volume_claims: [claim('res-1-scratch')],
        deployment: deployment(mounting('res-1-scratch')),
      },
    ],
    [
      'a pod mounting the disk the metadata names',
      {
        metadata: { ...spec({}).metadata, disk_claim: 'odc-disk-mine' },
        deployment: deployment(mounting('odc-disk-mine')),
      },
    ],
    [
      'AppArmor and seccomp as Pod Security baseline allows them',
      {
        deployment: deployment(
          {
            securityContext: {
              seccompProfile: { type: 'RuntimeDefault' },
              appArmorProfile: { type: 'Localhost', localhostProfile: 'p' },
            },
          },
          { securityContext: { appArmorProfile: { type: 'RuntimeDefault' } } },
        ),
      },
    ],
    [
      'AppArmor annotations as Pod Security baseline allows them',
      {
        deployment: withAnnotations({
          'container.apparmor.security.beta.kubernetes.io/main': 'localhost/dev',
          'container.apparmor.security.beta.kubernetes.io/side': 'runtime/default',
        }),
      },
    ],
    [
      'a safe sysctl (sshd on port 22 without root)',
      {
        deployment: deployment({
          securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '22' }] },
        }),
      },
    ],
    [
      'an init container’s GPUs handed on to the containers (they run one after the other)',
      { deployment: deployment({ initContainers: [{ name: 'i', image: 'x', ...gpus('8') }] }, gpus('8')) },
    ],
    [
      'sidecar and container GPUs within the cap',
      { deployment: deployment({ initContainers: [sidecar('2')] }, gpus('6')) },
    ],
  ] as [string, Partial<DeploymentSpec>][])('accepts %s', (_case, parts) => {
    expect(violationsOf(parts)).toEqual([]);
  });

  it('holds ephemeral claims, where the policy allows them, to the rules of claims', () => {
    const allowing = { ...policy, allowEphemeralVolumes: true };
    const violations = (claimSpec: Record<string, unknown>) =>
      checkPolicy(spec({ deployment: deployment(ephemeral(claimSpec)) }), allowing).map((v) => v.path);
    const template = `${POD}.volumes[0].ephemeral.volumeClaimTemplate.spec`;
    expect(violations({})).toEqual([]);
    expect(violations({ resources: { requests: { storage: '3Ti' } } })).toEqual([
      `${template}.resources.requests.storage`,
    ]);
    expect(violations({ volumeName: 'pv-of-someone-else' })).toEqual([`${template}.volumeName`]);
    expect(
      violations({
        dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'odc-disk-x', namespace: 'other' },
      }),
    ).toEqual([`${template}.dataSourceRef`, `${template}.dataSourceRef.namespace`]);
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
