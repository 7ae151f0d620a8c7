/**
 * The manifests of a reservation: the objects and fields the cluster depends on, that the deployer's
 * own policy (with its default configuration) lets them through, and that the API server's schemas
 * accept them (the simulator's validator: kubernetes-models' compiled OpenAPI schemas plus name rules).
 */
import type { ClusterProfile } from '../../clusters/dto/cluster-profile.dto';
import {
  LABELS,
  manifestsOf,
  SPEC_VERSION,
  type DeploymentSpec,
  type Manifest,
} from '../../deployer/contract';
import { DeployerSettings } from '../../deployer/deployer-settings';
import { checkPolicy, enforced, type DeployerPolicy } from '../../deployer/policy';
import { loadAppConfig } from '../../app/config';
import { RESOURCE_TYPES } from '../../simulator/resources';
import { loadSchemaValidators, ObjectValidator } from '../../simulator/validation';
import {
  buildDeploymentSpec,
  DEFAULT_GPU_RESOURCE,
  DEFAULT_NAMESPACE,
  noticeText,
  type ManifestInput,
} from './manifests';

const EXT = 'odc-1a2b3c4d5e6f';
const H100 = 'NVIDIA-H100-80GB-HBM3';

const PROFILE: ClusterProfile = {
  namespace: 'gpu-dev',
  ingress_class: 'nginx',
  ingress_domain: 'gpu-east.example.com',
  gpu_types: [
    { name: 'h100', node_selector: { 'nvidia.com/gpu.product': H100 }, gpus_per_node: 8 },
    { name: 'cpu', node_selector: { 'node.example.com/pool': 'cpu' }, gpus_per_node: 1 },
  ],
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
};

function input(
  overrides: Partial<ManifestInput> = {},
  reservation: Partial<ManifestInput['reservation']> = {},
) {
  return {
    reservation: {
      id: 'b7e0c8a4-0000-4000-8000-000000000001',
      externalId: EXT,
      name: 'training run',
      gpuCount: 4,
      image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
      jupyter: true,
      nodeName: 'ip-10-0-1-23.ec2.internal',
      expiresAt: null,
      durationMinutes: 120,
      extendedMinutes: 0,
      nodeLabels: { 'topology.kubernetes.io/zone': 'us-east-1a' },
      ...reservation,
    },
    owner: { id: 'u-1', username: 'alice', sshKeys: ['ssh-ed25519 AAAAalice alice@laptop'] },
    secondaryUsers: [{ username: 'bob', sshKeys: ['ssh-ed25519 AAAAbob bob@desk'] }],
    cluster: { name: 'gpu-east', profile: PROFILE },
    gpuType: { name: 'h100', resourceName: 'nvidia.com/gpu' },
    defaultImage: 'ghcr.io/open-developer-cloud/devbox:cuda12.4',
    notice: noticeText({ externalId: EXT, username: 'alice', expiresAt: null }),
    ...overrides,
  } satisfies ManifestInput;
}

interface Container {
  image: string;
  ports: unknown[];
  env: { name: string; value: string }[];
  resources?: { limits: Record<string, string>; requests: Record<string, string> };
  volumeMounts: unknown[];
}

interface PodSpec {
  affinity?: unknown;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, string>[];
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  containers: Container[];
  volumes: unknown[];
}

/** The pod template, its spec and the dev container, typed for assertions. */
function podOf(spec: DeploymentSpec) {
  const { template } = spec.deployment?.spec as {
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
  return { template, pod: template.spec, container: template.spec.containers[0]! };
}

const configMapData = (spec: DeploymentSpec) => spec.config_maps?.[0]?.data as Record<string, string>;

/** The policy a deployer enforces with its configuration's defaults, in the namespaces given. */
function defaultPolicy(namespaces?: string): DeployerPolicy {
  return new DeployerSettings(loadAppConfig(namespaces ? { ODC_DEPLOYER_NAMESPACES: namespaces } : {}))
    .policy;
}

describe('buildDeploymentSpec', () => {
  describe('a typical GPU reservation with Jupyter', () => {
    const spec = buildDeploymentSpec(input());
    const labels = {
      'odc.dev/external-id': EXT,
      'odc.dev/reservation': 'b7e0c8a4-0000-4000-8000-000000000001',
      'odc.dev/user': 'alice',
      'app.kubernetes.io/name': 'odc-devbox',
    };

    it('carries the metadata the deployer reads', () => {
      expect(spec.metadata).toEqual({
        external_id: EXT,
        reservation_id: 'b7e0c8a4-0000-4000-8000-000000000001',
        user_id: 'u-1',
        username: 'alice',
        spec_version: SPEC_VERSION,
      });
    });

    it('has the objects of a reservation, named after its external id, in the profile namespace', () => {
      const objects = manifestsOf(spec).map(({ field, manifest }) => [
        field,
        manifest.kind,
        manifest.metadata.name,
        manifest.metadata.namespace,
      ]);
      expect(objects).toEqual([
        ['config_maps[0]', 'ConfigMap', `${EXT}-keys`, 'gpu-dev'],
        ['service', 'Service', `${EXT}-ssh`, 'gpu-dev'],
        ['ingress', 'Ingress', `${EXT}-jupyter`, 'gpu-dev'],
        ['pod_disruption_budget', 'PodDisruptionBudget', EXT, 'gpu-dev'],
        ['deployment', 'Deployment', EXT, 'gpu-dev'],
      ]);
      expect(spec.pod).toBeUndefined();
      expect(spec.persistent_volumes).toBeUndefined();
      expect(spec.persistent_volume_claims).toBeUndefined();
    });

    it('labels every object and the pod template alike', () => {
      for (const { manifest } of manifestsOf(spec)) {
        expect(manifest.metadata.labels).toEqual(labels);
      }
      expect(podOf(spec).template.metadata.labels).toEqual(labels);
    });

    it('runs one pod, selected by its external id only', () => {
      expect(spec.deployment?.spec).toMatchObject({
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { [LABELS.externalId]: EXT } },
      });
      expect(spec.pod_disruption_budget?.spec).toEqual({
        maxUnavailable: 0,
        selector: { matchLabels: { [LABELS.externalId]: EXT } },
      });
    });

    it('pins the pod to the chosen node, on the GPU type’s nodes, tolerating their taints', () => {
      const { pod } = podOf(spec);
      expect(pod.affinity).toEqual({
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchFields: [
                  { key: 'metadata.name', operator: 'In', values: ['ip-10-0-1-23.ec2.internal'] },
                ],
              },
            ],
          },
        },
      });
      expect(pod.nodeName).toBeUndefined();
      expect(pod.nodeSelector).toEqual({
        'nvidia.com/gpu.product': H100,
        'topology.kubernetes.io/zone': 'us-east-1a',
      });
      expect(pod.tolerations).toEqual([
        { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
        { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      ]);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.enableServiceLinks).toBe(false);
    });

    it('gives the dev container its image, GPUs, ports, environment, keys and home', () => {
      const { pod, container } = podOf(spec);
      expect(pod.containers).toHaveLength(1);
      expect(container).toMatchObject({
        name: 'dev',
        image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
        imagePullPolicy: 'IfNotPresent',
        resources: { limits: { 'nvidia.com/gpu': '4' }, requests: { 'nvidia.com/gpu': '4' } },
        readinessProbe: { tcpSocket: { port: 22 }, initialDelaySeconds: 2, periodSeconds: 5 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      });
      expect(container.ports).toEqual([
        { name: 'ssh', containerPort: 22, protocol: 'TCP' },
        { name: 'jupyter', containerPort: 8888, protocol: 'TCP' },
      ]);
      expect(container.env).toEqual([
        { name: 'ODC_RESERVATION_ID', value: 'b7e0c8a4-0000-4000-8000-000000000001' },
        { name: 'ODC_EXTERNAL_ID', value: EXT },
        { name: 'ODC_USER', value: 'alice' },
        { name: 'ODC_JUPYTER_FILE', value: '/etc/odc/jupyter' },
        { name: 'ODC_NOTICE_FILE', value: '/etc/odc/notice' },
      ]);
      expect(container.volumeMounts).toEqual([
        { name: 'odc', mountPath: '/etc/odc', readOnly: true },
        { name: 'scratch', mountPath: '/home/dev' },
      ]);
      expect(pod.volumes).toEqual([
        { name: 'odc', configMap: { name: `${EXT}-keys`, defaultMode: 0o444 } },
        { name: 'scratch', emptyDir: {} },
      ]);
    });

    it('exposes SSH and Jupyter on a NodePort Service, and Jupyter on the cluster’s domain', () => {
      expect(spec.service?.spec).toEqual({
        type: 'NodePort',
        selector: { [LABELS.externalId]: EXT },
        ports: [
          { name: 'ssh', port: 22, targetPort: 22, protocol: 'TCP' },
          { name: 'jupyter', port: 8888, targetPort: 8888, protocol: 'TCP' },
        ],
      });
      expect(spec.ingress?.spec).toEqual({
        ingressClassName: 'nginx',
        rules: [
          {
            host: `${EXT}.gpu-east.example.com`,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: `${EXT}-ssh`, port: { name: 'jupyter' } } },
                },
              ],
            },
          },
        ],
      });
    });

    it('puts every user’s keys and the notice in the keys ConfigMap', () => {
      expect(configMapData(spec)).toEqual({
        authorized_keys: 'ssh-ed25519 AAAAalice alice@laptop\nssh-ed25519 AAAAbob bob@desk\n',
        notice: `ODC reservation ${EXT} of alice\nExpires at: not yet set (its duration counts from when it becomes active)\n`,
        jupyter: 'true',
      });
    });
  });

  describe('against the deployer', () => {
    const variants: [string, ManifestInput][] = [
      ['with Jupyter', input()],
      ['without Jupyter', input({}, { jupyter: false })],
      ['CPU only', input({ gpuType: { name: 'cpu', resourceName: null } }, { gpuCount: 0 })],
      [
        'in the default namespace',
        input({ cluster: { name: 'c', profile: { ...PROFILE, namespace: undefined } } }),
      ],
    ];

    it.each(variants)('passes the default policy (%s)', (_, variant) => {
      const spec = buildDeploymentSpec(variant);
      const namespace = spec.deployment?.metadata.namespace;
      expect(checkPolicy(spec, defaultPolicy(namespace))).toEqual([]);
    });

    it('is refused by a deployer with every default, whose only namespace is "default"', () => {
      // The profile's default namespace is not the deployer's: clusters must set one or the other.
      const spec = buildDeploymentSpec(
        input({ cluster: { name: 'c', profile: { ...PROFILE, namespace: undefined } } }),
      );
      const violations = checkPolicy(spec, defaultPolicy());
      expect(new Set(violations.map((violation) => violation.rule))).toEqual(
        new Set(['namespace must be one of: default']),
      );
      expect(spec.deployment?.metadata.namespace).toBe(DEFAULT_NAMESPACE);
    });

    it('is refused where NodePort Services are off', () => {
      const policy = { ...defaultPolicy('gpu-dev'), allowNodePort: false };
      expect(checkPolicy(buildDeploymentSpec(input()), policy)).toEqual([
        { path: 'service.spec.type', rule: 'NodePort services are not allowed' },
      ]);
    });

    it('keeps its labels and pod settings through what the deployer enforces', () => {
      const spec = buildDeploymentSpec(input());
      const deployment = spec.deployment as Manifest;
      const applied = enforced(deployment, EXT);
      expect(applied.metadata.labels).toEqual({
        ...deployment.metadata.labels,
        'app.kubernetes.io/managed-by': 'odc-deployer',
      });
      const template = (manifest: Manifest) =>
        (manifest.spec as { template: { metadata: { labels: object }; spec: object } }).template;
      expect(template(applied).metadata.labels).toEqual({
        ...template(deployment).metadata.labels,
        'app.kubernetes.io/managed-by': 'odc-deployer',
      });
      expect(template(applied).spec).toEqual(template(deployment).spec);
    });

    describe('schemas', () => {
      let validator: ObjectValidator;
      beforeAll(async () => {
        validator = new ObjectValidator(await loadSchemaValidators());
      });

      const typeOf = (manifest: Manifest) => {
        const type = RESOURCE_TYPES.find(
          (candidate) =>
            candidate.kind === manifest.kind &&
            manifest.apiVersion === (candidate.group ? `${candidate.group}/${candidate.version}` : 'v1'),
        );
        expect(type).toBeDefined();
        return type!;
      };

      it.each(variants)('every object is one the API server accepts (%s)', (_, variant) => {
        for (const { manifest } of manifestsOf(buildDeploymentSpec(variant))) {
          expect(() => validator.validate(typeOf(manifest), manifest)).not.toThrow();
        }
      });

      it('would notice a field of the wrong type (the check is not vacuous)', () => {
        const deployment = buildDeploymentSpec(input()).deployment as Manifest;
        const broken = { ...deployment, spec: { ...(deployment.spec as object), replicas: 'one' } };
        expect(() => validator.validate(typeOf(broken), broken)).toThrow();
      });
    });
  });

  describe('authorized_keys', () => {
    it('lists the owner’s keys first, then each secondary user’s, once each, trimmed', () => {
      const spec = buildDeploymentSpec(
        input({
          owner: { id: 'u-1', username: 'alice', sshKeys: ['  ssh-ed25519 A1 alice  ', 'ssh-rsa A2 alice'] },
          secondaryUsers: [
            { username: 'bob', sshKeys: ['ssh-ed25519 B1 bob', 'ssh-ed25519 A1 alice'] },
            { username: 'carol', sshKeys: ['ssh-ed25519 C1 carol\n\nssh-ed25519 C2 carol\r\n', ''] },
            { username: 'bob', sshKeys: ['ssh-ed25519 B1 bob'] },
          ],
        }),
      );
      expect(configMapData(spec).authorized_keys).toBe(
        [
          'ssh-ed25519 A1 alice',
          'ssh-rsa A2 alice',
          'ssh-ed25519 B1 bob',
          'ssh-ed25519 C1 carol',
          'ssh-ed25519 C2 carol',
          '',
        ].join('\n'),
      );
    });

    it('is empty when nobody has a key', () => {
      const spec = buildDeploymentSpec(
        input({ owner: { id: 'u-1', username: 'alice', sshKeys: [] }, secondaryUsers: [] }),
      );
      expect(configMapData(spec).authorized_keys).toBe('');
    });
  });

  describe('the user label', () => {
    const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
    const userLabel = (username: string) =>
      buildDeploymentSpec(input({ owner: { id: 'u-1', username, sshKeys: [] } })).deployment?.metadata
        .labels?.['odc.dev/user'];

    it.each([
      ['Alice@Example.com', 'Alice-Example.com'],
      ['alice', 'alice'],
      ['_x_', 'x'],
      ['-.@@', ''],
      ['a'.repeat(62) + '.b', 'a'.repeat(62)],
      ['é', ''],
    ])('%s becomes %s', (username, expected) => {
      const value = userLabel(username);
      expect(value).toBe(expected);
      expect(value).toMatch(LABEL_VALUE);
    });

    it('leaves the username itself as it is elsewhere', () => {
      const spec = buildDeploymentSpec(
        input({ owner: { id: 'u-1', username: 'Alice@Example.com', sshKeys: [] } }),
      );
      expect(spec.metadata.username).toBe('Alice@Example.com');
      expect(podOf(spec).container.env).toContainEqual({ name: 'ODC_USER', value: 'Alice@Example.com' });
    });
  });

  describe('GPU types', () => {
    it('gives a CPU-only type no GPU resources and no GPU toleration', () => {
      const spec = buildDeploymentSpec(
        input({ gpuType: { name: 'cpu', resourceName: null } }, { gpuCount: 0, nodeLabels: null }),
      );
      const { pod, container } = podOf(spec);
      expect(container.resources).toBeUndefined();
      expect(pod.tolerations).toEqual([
        { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
      ]);
      expect(pod.nodeSelector).toEqual({ 'node.example.com/pool': 'cpu' });
    });

    it('requests the profile’s resource name before the catalog’s', () => {
      const profile: ClusterProfile = {
        ...PROFILE,
        gpu_types: [
          {
            name: 'h100',
            node_selector: { 'nvidia.com/gpu.product': H100 },
            gpus_per_node: 7,
            resource_name: 'nvidia.com/mig-3g.40gb',
          },
        ],
      };
      const spec = buildDeploymentSpec(input({ cluster: { name: 'c', profile } }, { gpuCount: 2 }));
      const { pod, container } = podOf(spec);
      expect(container.resources).toEqual({
        limits: { 'nvidia.com/mig-3g.40gb': '2' },
        requests: { 'nvidia.com/mig-3g.40gb': '2' },
      });
      expect(pod.tolerations).toContainEqual({
        key: 'nvidia.com/mig-3g.40gb',
        operator: 'Exists',
        effect: 'NoSchedule',
      });
      expect(checkPolicy(spec, defaultPolicy('gpu-dev'))).toEqual([]);
    });

    it('falls back to the documented default resource name', () => {
      const spec = buildDeploymentSpec(input({ gpuType: { name: 'h100', resourceName: '' } }));
      expect(podOf(spec).container.resources?.limits).toEqual({ [DEFAULT_GPU_RESOURCE]: '4' });
    });

    it('has no node selector for a type the profile does not list, but still its pinning', () => {
      const spec = buildDeploymentSpec(
        input({ gpuType: { name: 'a100', resourceName: 'nvidia.com/gpu' } }, { nodeLabels: null }),
      );
      const { pod } = podOf(spec);
      expect(pod.nodeSelector).toBeUndefined();
      expect(pod.affinity).toBeDefined();
    });

    it('does not repeat a GPU toleration the profile already has', () => {
      const profile: ClusterProfile = {
        ...PROFILE,
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      };
      const { pod } = podOf(buildDeploymentSpec(input({ cluster: { name: 'c', profile } })));
      expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    });
  });

  it('merges the reservation’s node labels, but the GPU type’s selector keeps its values', () => {
    const spec = buildDeploymentSpec(
      input(
        {},
        {
          nodeLabels: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB', 'example.com/rack': 'r12' },
        },
      ),
    );
    expect(podOf(spec).pod.nodeSelector).toEqual({
      'nvidia.com/gpu.product': H100,
      'example.com/rack': 'r12',
    });
  });

  it('uses the default image when the reservation names none', () => {
    const spec = buildDeploymentSpec(input({}, { image: null }));
    expect(podOf(spec).container.image).toBe('ghcr.io/open-developer-cloud/devbox:cuda12.4');
  });

  it('has no Ingress when Jupyter is on but the cluster has no ingress domain', () => {
    const profile = { ...PROFILE, ingress_domain: undefined };
    const spec = buildDeploymentSpec(input({ cluster: { name: 'c', profile } }));
    expect(spec.ingress).toBeUndefined();
    expect((spec.service?.spec as { ports: { name: string }[] }).ports.map((port) => port.name)).toEqual([
      'ssh',
      'jupyter',
    ]);
  });

  it('exposes no Jupyter port and no Ingress when Jupyter is off, with the same pod (toggling never restarts it)', () => {
    const off = buildDeploymentSpec(input({}, { jupyter: false }));
    const on = buildDeploymentSpec(input({}, { jupyter: true }));
    expect(off.ingress).toBeUndefined();
    expect((off.service?.spec as { ports: unknown[] }).ports).toHaveLength(1);
    expect((off.config_maps![0]!.data as Record<string, string>).jupyter).toBe('false');
    expect((on.config_maps![0]!.data as Record<string, string>).jupyter).toBe('true');
    expect(off.deployment).toEqual(on.deployment);
  });

  it('leaves out the ingress class when the profile has none', () => {
    const profile = { ...PROFILE, ingress_class: undefined };
    const spec = buildDeploymentSpec(input({ cluster: { name: 'c', profile } }));
    expect(spec.ingress?.spec).not.toHaveProperty('ingressClassName');
  });

  it('is the same spec for the same input', () => {
    expect(buildDeploymentSpec(input())).toEqual(buildDeploymentSpec(input()));
  });

  it.each(['ODC-1', '-odc', `odc-${'a'.repeat(56)}`, ''])('refuses the external id %j', (externalId) => {
    expect(() => buildDeploymentSpec(input({}, { externalId }))).toThrow(/not a DNS label/);
  });
});

describe('buildDeploymentSpec with a disk', () => {
  const spec = buildDeploymentSpec(input({ disk: { claimName: 'odc-disk-0123456789ab-g1' } }));
  const { pod, container } = podOf(spec);

  it('mounts the disk’s claim at /home/dev instead of scratch space, and does not carry the claim', () => {
    expect(container.volumeMounts).toEqual([
      { name: 'odc', mountPath: '/etc/odc', readOnly: true },
      { name: 'home', mountPath: '/home/dev' },
    ]);
    expect(pod.volumes).toContainEqual({
      name: 'home',
      persistentVolumeClaim: { claimName: 'odc-disk-0123456789ab-g1' },
    });
    expect(JSON.stringify(pod.volumes)).not.toContain('emptyDir');
    // The claim outlives the deployment: it is the disk's, not part of the spec the deployer deletes.
    expect(spec.persistent_volume_claims).toBeUndefined();
  });

  it('passes the deployer’s default policy', () => {
    expect(checkPolicy(spec, defaultPolicy('gpu-dev'))).toEqual([]);
  });
});

describe('noticeText', () => {
  it('says whose reservation it is and when it expires', () => {
    expect(
      noticeText({ externalId: EXT, username: 'alice', expiresAt: new Date('2026-03-01T12:00:00Z') }),
    ).toBe(`ODC reservation ${EXT} of alice\nExpires at: 2026-03-01T12:00:00.000Z\n`);
  });

  it('adds the warning as its own line', () => {
    expect(
      noticeText({
        externalId: EXT,
        username: 'alice',
        expiresAt: new Date('2026-03-01T12:00:00Z'),
        warning: 'This environment expires in 15 minutes: save your work.',
      }),
    ).toBe(
      `ODC reservation ${EXT} of alice\nExpires at: 2026-03-01T12:00:00.000Z\n` +
        'This environment expires in 15 minutes: save your work.\n',
    );
  });

  it('says the expiry is not set before the reservation is active', () => {
    expect(noticeText({ externalId: EXT, username: 'alice', expiresAt: null })).toContain(
      'Expires at: not yet set',
    );
  });

  it('says how long after activation it expires before the time is known', () => {
    const text = (minutes: number) =>
      noticeText({ externalId: EXT, username: 'alice', expiresAt: null, minutes });
    expect(text(480)).toContain('Expires at: 8 h after it became active');
    expect(text(90)).toContain('Expires at: 1 h 30 min after it became active');
    expect(text(45)).toContain('Expires at: 45 min after it became active');
  });

  it('gives the time itself once it is known', () => {
    expect(
      noticeText({
        externalId: EXT,
        username: 'alice',
        expiresAt: new Date('2026-03-01T12:00:00Z'),
        minutes: 60,
      }),
    ).toContain('Expires at: 2026-03-01T12:00:00.000Z\n');
  });
});
