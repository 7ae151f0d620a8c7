/**
 * What a deployer applies, whoever asks: it can create pods, so it enforces this policy on every
 * object before anything is applied (all or nothing). Violations name the path and the rule.
 * Where a field can open the node or the cluster (volume sources, Service types), the rule is an
 * allowlist: what is not known to be safe is refused.
 */
import { AppError } from '../infra/errors/app-error';
import { parseCpuMillis, parseQuantity } from '../infra/kubernetes/quantity';
import {
  LABELS,
  MANAGED_BY,
  manifestsOf,
  type DeploymentSpec,
  type Manifest,
  type PolicyViolation,
} from './contract';
import { DeployerErrorCode } from './deployer.errors';
import { shapeViolations } from './policy-shapes';

export interface DeployerPolicy {
  namespaces: string[];
  /** Per pod (all its containers); a Deployment multiplies by its replicas, bounded below. */
  maxGpus: number;
  maxCpu: string;
  maxMemory: string;
  maxReplicas: number;
  maxVolumeSize: string;
  allowedCapabilities: string[];
  /** CSI drivers a PersistentVolume may name (it can attach any volume the driver reaches). */
  allowedCsiDrivers: string[];
  allowLoadBalancer: boolean;
  allowNodePort: boolean;
  /** The only service account pods may name; their API token is never mounted anyway. */
  podServiceAccount: string;
  /**
   * Pods' inline (`ephemeral`) claims: each creates a claim, so it is held to the rules of a
   * spec's claims. The coordinator's pods use none.
   */
  allowEphemeralVolumes: boolean;
}

/** The kinds a deployment spec may carry, by the field that carries them. */
const ALLOWED_KINDS: Record<string, string> = {
  deployment: 'apps/v1/Deployment',
  pod: 'v1/Pod',
  service: 'v1/Service',
  ingress: 'networking.k8s.io/v1/Ingress',
  config_maps: 'v1/ConfigMap',
  persistent_volumes: 'v1/PersistentVolume',
  persistent_volume_claims: 'v1/PersistentVolumeClaim',
  pod_disruption_budget: 'policy/v1/PodDisruptionBudget',
};

/**
 * Pod volume sources that reach nothing beyond the pod's own namespace objects and scratch space
 * (`ephemeral` too, where the policy allows it: see ephemeralViolations).
 */
const POD_VOLUME_SOURCES = new Set([
  'persistentVolumeClaim',
  'configMap',
  'emptyDir',
  'downwardAPI',
  'projected',
]);
const PROJECTED_SOURCES = new Set(['configMap', 'downwardAPI']);
const CSI_SECRET_REFS = [
  'controllerPublishSecretRef',
  'nodePublishSecretRef',
  'nodeStageSecretRef',
  'controllerExpandSecretRef',
  'nodeExpandSecretRef',
];

/*
 * Pod Security Standards, baseline level (k8s.io/pod-security-admission/policy/check_*.go): the
 * values each rule allows. docs/deployer.md maps every rule to the check here and its test.
 */
/** check_capabilities_baseline: the container runtime's default set; anything else adds power. */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
/** check_sysctls: namespaced to the pod and isolated from other pods on the node. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
]);
/** check_seLinuxOptions. */
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
/** check_seccompProfile_baseline, check_appArmorProfile: a profile type must confine. */
const CONFINING_PROFILES = new Set(['RuntimeDefault', 'Localhost']);
/** The annotation forms of the same profiles: prefix → allowed values (exact, or `localhost/…`). */
const PROFILE_ANNOTATIONS: [prefix: string, name: string, allowed: string[]][] = [
  ['container.apparmor.security.beta.kubernetes.io/', 'AppArmor', ['', 'runtime/default']],
  ['seccomp.security.alpha.kubernetes.io/pod', 'seccomp', ['runtime/default', 'docker/default']],
  ['container.seccomp.security.alpha.kubernetes.io/', 'seccomp', ['runtime/default', 'docker/default']],
];

type Json = Record<string, unknown>;

/** The security context fields Pod Security's baseline standard restricts, pod and container alike. */
interface SecurityContext {
  seccompProfile?: { type?: unknown };
  appArmorProfile?: { type?: unknown };
  seLinuxOptions?: { type?: unknown; user?: unknown; role?: unknown };
  windowsOptions?: { hostProcess?: boolean };
}

interface Container {
  securityContext?: SecurityContext & {
    privileged?: boolean;
    capabilities?: { add?: string[] };
    procMount?: string;
    ulimits?: unknown;
  };
  ports?: { hostPort?: number }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  /** `Always` on an init container: a sidecar, running next to everything started after it. */
  restartPolicy?: unknown;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  startupProbe?: unknown;
  lifecycle?: { postStart?: unknown; preStop?: unknown };
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  nodeName?: string;
  serviceAccountName?: string;
  serviceAccount?: string;
  securityContext?: SecurityContext & { sysctls?: { name?: unknown }[] };
  volumes?: Json[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: unknown[];
  resourceClaims?: unknown;
  /** Pod-level requests and limits: the scheduler takes them over the containers' sum. */
  resources?: Container['resources'];
}

/** A pod's spec and annotations in an object that is or makes pods, with their paths. */
interface PodParts {
  spec: PodSpec;
  at: string;
  annotations: Record<string, unknown>;
  annotationsAt: string;
}

function podSpecOf(manifest: Manifest): PodParts | undefined {
  if (manifest.kind === 'Pod') {
    const annotations = manifest.metadata.annotations ?? {};
    return { spec: manifest.spec ?? {}, at: 'spec', annotations, annotationsAt: 'metadata.annotations' };
  }
  if (manifest.kind === 'Deployment' || manifest.kind === 'Job') {
    const template = (
      manifest.spec as { template?: { spec?: PodSpec; metadata?: { annotations?: Json } } } | undefined
    )?.template;
    return {
      spec: template?.spec ?? {},
      at: 'spec.template.spec',
      annotations: template?.metadata?.annotations ?? {},
      annotationsAt: 'spec.template.metadata.annotations',
    };
  }
  return undefined;
}

/** A field below `value`, whatever `value` is (a probe's handler may be anything a caller sent). */
function fieldAt(value: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>(
    (node, key) => (typeof node === 'object' && node !== null ? (node as Json)[key] : undefined),
    value,
  );
}

/** Set, as Kubernetes reads it: not absent, null, empty text or an empty list. */
const isSet = (value: unknown) =>
  value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

/** A quantity as a number, or undefined when it is not one (the policy cannot vouch for it). */
function readQuantity(value: unknown, parse: (value: string) => number): number | undefined {
  try {
    const parsed = parse(value as string);
    return Number.isFinite(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GPUs and their slices, by extended resource name: any with "gpu" in it (`nvidia.com/gpu`,
 * `nvidia.com/gpu.shared`, `amd.com/gpu`, `gpu.intel.com/i915`) and MIG slices
 * (`nvidia.com/mig-1g.10gb`). Counting one too many is safe; missing one lifts the cap.
 */
function isGpu(resource: string): boolean {
  const name = resource.toLowerCase();
  return name.includes('/') && (name.includes('gpu') || name.includes('/mig-'));
}

/** What one container asks for: requests, raised to its limits where those are higher. */
function demandOf(container: Container): Map<string, unknown> {
  return new Map(Object.entries({ ...container.resources?.requests, ...container.resources?.limits }));
}

/**
 * The pod's resources against the maxima at its peak, as the scheduler counts them: init
 * containers run one at a time, each next to the sidecars (restartable init containers) started
 * before it; then the containers run together, next to every sidecar. Pod-level resources count
 * too. A violation names the container where the pod went over, or the one whose quantity cannot
 * be read (the policy cannot vouch for it).
 */
function resourceViolations(spec: PodSpec, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const limits: [
    name: string,
    select: (resource: string) => boolean,
    parse: (v: string) => number,
    max: string,
  ][] = [
    ['GPUs', isGpu, parseQuantity, String(policy.maxGpus)],
    ['cpu', (r) => r === 'cpu', parseCpuMillis, policy.maxCpu],
    ['memory', (r) => r === 'memory', parseQuantity, policy.maxMemory],
  ];
  const violations: PolicyViolation[] = [];
  for (const [name, select, parse, max] of limits) {
    const maximum = parse(max);
    /** What one container (or the pod itself) asks for; undefined once it cannot be read. */
    const amountOf = (container: Container, path: string): number | undefined => {
      let sum = 0;
      for (const [resource, value] of demandOf(container)) {
        if (!select(resource)) {
          continue;
        }
        const amount = readQuantity(value, parse);
        if (amount === undefined) {
          violations.push({
            path: `${path}.resources`,
            rule: `${JSON.stringify(value)} is not a Kubernetes quantity`,
          });
          return undefined;
        }
        sum += amount;
      }
      return sum;
    };
    const steps = [
      ...(spec.initContainers ?? []).map((container, index) => ({
        container,
        path: `${at}.initContainers[${index}]`,
        role: container.restartPolicy === 'Always' ? ('sidecar' as const) : ('init' as const),
      })),
      ...(spec.containers ?? []).map((container, index) => ({
        container,
        path: `${at}.containers[${index}]`,
        role: 'container' as const,
      })),
      { container: { resources: spec.resources }, path: at, role: 'pod' as const },
    ];
    let sidecars = 0;
    let containers = 0;
    for (const { container, path, role } of steps) {
      const amount = amountOf(container, path);
      if (amount === undefined) {
        break;
      }
      let peak = amount;
      if (role === 'sidecar') {
        sidecars += amount;
        peak = sidecars;
      } else if (role === 'init') {
        peak = sidecars + amount;
      } else if (role === 'container') {
        containers += amount;
        peak = sidecars + containers;
      }
      if (peak > maximum) {
        violations.push({ path: `${path}.resources`, rule: `at most ${max} ${name} per pod` });
        break;
      }
    }
  }
  return violations;
}

/** Unconfined profiles, custom SELinux identities and Windows host processes: each escapes isolation. */
function securityContextViolations(context: SecurityContext | undefined, at: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const [profile, name] of [
    ['seccompProfile', 'seccomp'],
    ['appArmorProfile', 'AppArmor'],
  ] as const) {
    const type = context?.[profile]?.type;
    if (isSet(type) && !CONFINING_PROFILES.has(type as string)) {
      violations.push({
        path: `${at}.${profile}.type`,
        rule: `${name} profile ${JSON.stringify(type)} is not allowed (allowed: RuntimeDefault, Localhost)`,
      });
    }
  }
  const selinux = context?.seLinuxOptions;
  if (isSet(selinux?.user) || isSet(selinux?.role)) {
    violations.push({ path: `${at}.seLinuxOptions`, rule: 'custom SELinux users and roles are not allowed' });
  }
  if (isSet(selinux?.type) && !SELINUX_TYPES.has(selinux?.type as string)) {
    violations.push({
      path: `${at}.seLinuxOptions.type`,
      rule: `SELinux type ${JSON.stringify(selinux?.type)} is not allowed`,
    });
  }
  if (context?.windowsOptions?.hostProcess) {
    violations.push({ path: `${at}.windowsOptions.hostProcess`, rule: 'host processes are not allowed' });
  }
  return violations;
}

/** A probe or lifecycle hook naming a host is run by the kubelet, from the node, against that host. */
function handlerHostViolations(container: Container, at: string): PolicyViolation[] {
  const handlers: [path: string, handler: unknown][] = [
    ['livenessProbe', container.livenessProbe],
    ['readinessProbe', container.readinessProbe],
    ['startupProbe', container.startupProbe],
    ['lifecycle.postStart', fieldAt(container.lifecycle, 'postStart')],
    ['lifecycle.preStop', fieldAt(container.lifecycle, 'preStop')],
  ];
  return handlers.flatMap(([path, handler]) =>
    (['httpGet', 'tcpSocket'] as const)
      .filter((kind) => isSet(fieldAt(handler, kind, 'host')))
      .map((kind) => ({
        path: `${at}.${path}.${kind}.host`,
        rule: 'probes and lifecycle hooks may not name a host (the node would connect to it)',
      })),
  );
}

function containerViolations(container: Container, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const security = container.securityContext;
  if (security?.privileged) {
    violations.push({
      path: `${at}.securityContext.privileged`,
      rule: 'privileged containers are not allowed',
    });
  }
  for (const capability of security?.capabilities?.add ?? []) {
    if (!policy.allowedCapabilities.includes(capability) || !BASELINE_CAPABILITIES.has(capability)) {
      violations.push({
        path: `${at}.securityContext.capabilities.add`,
        rule: `capability ${capability} is not allowed (only those of ODC_DEPLOYER_ALLOWED_CAPABILITIES within Pod Security baseline's: ${[...BASELINE_CAPABILITIES].join(', ')})`,
      });
    }
  }
  violations.push(...securityContextViolations(security, `${at}.securityContext`));
  (Array.isArray(container.ports) ? container.ports : []).forEach((port, index) => {
    if (port?.hostPort !== undefined && port.hostPort !== 0) {
      violations.push({ path: `${at}.ports[${index}].hostPort`, rule: 'host ports are not allowed' });
    }
  });
  if (security?.procMount !== undefined && security.procMount !== 'Default') {
    violations.push({
      path: `${at}.securityContext.procMount`,
      rule: 'only the default /proc mount is allowed',
    });
  }
  if (isSet(security?.ulimits)) {
    violations.push({ path: `${at}.securityContext.ulimits`, rule: 'ulimits are not allowed' });
  }
  violations.push(...handlerHostViolations(container, at));
  return violations;
}

function volumeSourceViolations(volume: Json, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const sources = Object.keys(volume).filter((key) => key !== 'name' && key !== 'ephemeral');
  const violations = sources
    .filter((source) => !POD_VOLUME_SOURCES.has(source))
    .map((source) => ({
      path: `${at}.${source}`,
      rule: `${source} volumes are not allowed (allowed: ${[...POD_VOLUME_SOURCES].join(', ')})`,
    }));
  const projected = (volume.projected as { sources?: Json[] } | undefined)?.sources;
  (Array.isArray(projected) ? projected : []).forEach((source, index) => {
    for (const kind of Object.keys(source ?? {}).filter((key) => !PROJECTED_SOURCES.has(key))) {
      violations.push({
        path: `${at}.projected.sources[${index}].${kind}`,
        rule: `projected ${kind} is not allowed (allowed: ${[...PROJECTED_SOURCES].join(', ')})`,
      });
    }
  });
  if (isSet(volume.ephemeral)) {
    violations.push(...ephemeralViolations(volume.ephemeral as EphemeralSource, `${at}.ephemeral`, policy));
  }
  return violations;
}

interface EphemeralSource {
  volumeClaimTemplate?: { metadata?: Manifest['metadata']; spec?: VolumeSpecs };
}

/** An inline claim is created with the pod: refused unless the policy allows it, then a spec's claim. */
function ephemeralViolations(source: EphemeralSource, at: string, policy: DeployerPolicy): PolicyViolation[] {
  if (!policy.allowEphemeralVolumes) {
    return [{ path: at, rule: 'ephemeral volumes are not allowed by this deployer' }];
  }
  const template = source.volumeClaimTemplate;
  const spec = template?.spec ?? {};
  const specAt = `${at}.volumeClaimTemplate.spec`;
  return [
    ...reservedMetadataViolations(template?.metadata, `${at}.volumeClaimTemplate.metadata`),
    ...specClaimViolations(spec, specAt),
    ...claimViolations(spec, specAt, policy),
  ];
}

/** Profiles set through the older annotations (kubelets still honour AppArmor's). */
function profileAnnotationViolations(annotations: Json, at: string): PolicyViolation[] {
  return Object.entries(annotations).flatMap(([key, value]) => {
    const match = PROFILE_ANNOTATIONS.find(([prefix]) => key.startsWith(prefix));
    if (!match) {
      return [];
    }
    const [, name, allowed] = match;
    const confining =
      typeof value === 'string' && (allowed.includes(value) || value.startsWith('localhost/'));
    return confining
      ? []
      : [
          {
            path: `${at}.${key}`,
            rule: `${name} profile ${JSON.stringify(value)} is not allowed (allowed: ${allowed.filter(Boolean).join(', ')}, localhost/<profile>)`,
          },
        ];
  });
}

function podViolations(spec: PodSpec, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const flag of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[flag]) {
      violations.push({ path: `${at}.${flag}`, rule: `${flag} is not allowed` });
    }
  }
  if (spec.nodeName !== undefined) {
    violations.push({
      path: `${at}.nodeName`,
      rule: 'pods are placed by the scheduler: use nodeSelector or affinity',
    });
  }
  for (const field of ['serviceAccountName', 'serviceAccount'] as const) {
    if (spec[field] !== undefined && spec[field] !== policy.podServiceAccount) {
      violations.push({
        path: `${at}.${field}`,
        rule: `pods run as service account ${policy.podServiceAccount}`,
      });
    }
  }
  violations.push(...securityContextViolations(spec.securityContext, `${at}.securityContext`));
  (spec.securityContext?.sysctls ?? []).forEach((sysctl, index) => {
    if (!SAFE_SYSCTLS.has(sysctl.name as string)) {
      violations.push({
        path: `${at}.securityContext.sysctls[${index}].name`,
        rule: `sysctl ${JSON.stringify(sysctl.name)} is not allowed (allowed: ${[...SAFE_SYSCTLS].join(', ')})`,
      });
    }
  });
  if (spec.ephemeralContainers !== undefined) {
    violations.push({ path: `${at}.ephemeralContainers`, rule: 'ephemeral containers are not allowed' });
  }
  if (isSet(spec.resourceClaims)) {
    violations.push({
      path: `${at}.resourceClaims`,
      rule: 'resource claims (Dynamic Resource Allocation) are not allowed: GPUs are requested as extended resources, which the policy counts',
    });
  }
  (spec.volumes ?? []).forEach((volume, index) =>
    violations.push(...volumeSourceViolations(volume, `${at}.volumes[${index}]`, policy)),
  );
  for (const list of ['containers', 'initContainers'] as const) {
    (spec[list] ?? []).forEach((container, index) => {
      violations.push(...containerViolations(container, `${at}.${list}[${index}]`, policy));
    });
  }
  return [...violations, ...resourceViolations(spec, at, policy)];
}

interface VolumeSpecs {
  csi?: Json & { driver?: string };
  claimRef?: { namespace?: string };
  capacity?: { storage?: string };
  resources?: { requests?: { storage?: string } };
  dataSource?: { kind?: string };
  dataSourceRef?: { kind?: string; namespace?: string };
  volumeName?: unknown;
}

/** What a PersistentVolume may be: a CSI volume of an allowed driver, for a claim in an allowed namespace. */
function persistentVolumeViolations(
  spec: VolumeSpecs & Json,
  at: string,
  policy: DeployerPolicy,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const nonCsi = Object.keys(spec).filter(
    (key) =>
      ![
        'csi',
        'claimRef',
        'capacity',
        'accessModes',
        'persistentVolumeReclaimPolicy',
        'storageClassName',
        'mountOptions',
        'nodeAffinity',
        'volumeMode',
      ].includes(key),
  );
  for (const source of nonCsi) {
    violations.push({
      path: `${at}.spec.${source}`,
      rule: `${source} volumes are not allowed: only CSI volumes of an allowed driver`,
    });
  }
  if (!spec.csi && nonCsi.length === 0) {
    violations.push({
      path: `${at}.spec.csi`,
      rule: 'a PersistentVolume must be a CSI volume of an allowed driver',
    });
  }
  const driver = spec.csi?.driver;
  if (driver !== undefined && !policy.allowedCsiDrivers.includes(driver)) {
    violations.push({ path: `${at}.spec.csi.driver`, rule: `CSI driver ${driver} is not allowed` });
  }
  for (const ref of CSI_SECRET_REFS) {
    const namespace = (spec.csi?.[ref] as { namespace?: string } | undefined)?.namespace;
    if (namespace !== undefined && !policy.namespaces.includes(namespace)) {
      violations.push({
        path: `${at}.spec.csi.${ref}.namespace`,
        rule: `namespace must be one of: ${policy.namespaces.join(', ')}`,
      });
    }
  }
  const claimNamespace = spec.claimRef?.namespace;
  if (claimNamespace !== undefined && !policy.namespaces.includes(claimNamespace)) {
    violations.push({
      path: `${at}.spec.claimRef.namespace`,
      rule: `namespace must be one of: ${policy.namespaces.join(', ')}`,
    });
  }
  return violations;
}

function sizeViolations(size: unknown, path: string, policy: DeployerPolicy): PolicyViolation[] {
  if (size === undefined) {
    return [];
  }
  const amount = readQuantity(size, parseQuantity);
  if (amount === undefined) {
    return [{ path, rule: `${JSON.stringify(size)} is not a Kubernetes quantity` }];
  }
  return amount > parseQuantity(policy.maxVolumeSize)
    ? [{ path, rule: `at most ${policy.maxVolumeSize} per volume` }]
    : [];
}

/** Any claim (of the volumes API, a spec, or inline in a pod); `at` is the path of its spec. */
function claimViolations(spec: VolumeSpecs, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const field of ['dataSource', 'dataSourceRef'] as const) {
    const kind = spec[field]?.kind;
    if (kind !== undefined && kind !== 'VolumeSnapshot' && kind !== 'PersistentVolumeClaim') {
      violations.push({
        path: `${at}.${field}.kind`,
        rule: 'a claim starts from a VolumeSnapshot or another claim only',
      });
    }
  }
  if (spec.dataSourceRef?.namespace !== undefined) {
    violations.push({
      path: `${at}.dataSourceRef.namespace`,
      rule: 'a claim starts from its own namespace only',
    });
  }
  return [
    ...violations,
    ...sizeViolations(spec.resources?.requests?.storage, `${at}.resources.requests.storage`, policy),
  ];
}

/**
 * A claim a deployment makes for itself starts empty and is bound by the cluster: picking a volume
 * by name, or copying a claim or snapshot, is how it would reach another's disk. Existing volumes
 * and restores go through POST /volumes.
 */
function specClaimViolations(spec: VolumeSpecs, at: string): PolicyViolation[] {
  return (['volumeName', 'dataSource', 'dataSourceRef'] as const)
    .filter((field) => isSet(spec[field]))
    .map((field) => ({
      path: `${at}.${field}`,
      rule:
        field === 'volumeName'
          ? 'claims are bound by the cluster; existing volumes go through POST /volumes'
          : 'claims of a deployment start empty; restores go through POST /volumes',
    }));
}

function volumeViolations(manifest: Manifest, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const spec = (manifest.spec ?? {}) as VolumeSpecs & Json;
  return manifest.kind === 'PersistentVolume'
    ? [
        ...persistentVolumeViolations(spec, at, policy),
        ...sizeViolations(spec.capacity?.storage, `${at}.spec.capacity.storage`, policy),
      ]
    : claimViolations(spec, `${at}.spec`, policy);
}

/**
 * A pre-provisioned VolumeSnapshotContent (an import): like a static volume, it reaches any
 * snapshot its driver reaches by handle, so only an allowed driver, for a snapshot in an allowed
 * namespace.
 */
function snapshotContentViolations(
  manifest: Manifest,
  at: string,
  policy: DeployerPolicy,
): PolicyViolation[] {
  const spec = (manifest.spec ?? {}) as { driver?: string; volumeSnapshotRef?: { namespace?: string } };
  const violations: PolicyViolation[] = [];
  if (spec.driver === undefined || !policy.allowedCsiDrivers.includes(spec.driver)) {
    violations.push({
      path: `${at}.spec.driver`,
      rule: `CSI driver ${spec.driver ?? '(none)'} is not allowed`,
    });
  }
  const namespace = spec.volumeSnapshotRef?.namespace;
  if (namespace === undefined || !policy.namespaces.includes(namespace)) {
    violations.push({
      path: `${at}.spec.volumeSnapshotRef.namespace`,
      rule: `namespace must be one of: ${policy.namespaces.join(', ')}`,
    });
  }
  return violations;
}

function serviceViolations(manifest: Manifest, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const spec = (manifest.spec ?? {}) as { type?: string; externalIPs?: unknown[] };
  const violations: PolicyViolation[] = [];
  const refused =
    (spec.type === 'LoadBalancer' && !policy.allowLoadBalancer) ||
    (spec.type === 'NodePort' && !policy.allowNodePort) ||
    spec.type === 'ExternalName';
  if (refused) {
    violations.push({ path: `${at}.spec.type`, rule: `${spec.type} services are not allowed` });
  }
  if (Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0) {
    violations.push({
      path: `${at}.spec.externalIPs`,
      rule: 'external IPs are not allowed (they can capture any address)',
    });
  }
  return violations;
}

/** Ingress controllers' snippet annotations inject raw proxy configuration (and read its secrets). */
function ingressViolations(manifest: Manifest, at: string): PolicyViolation[] {
  return Object.keys(manifest.metadata.annotations ?? {})
    .filter((key) => /snippet/i.test(key))
    .map((key) => ({
      path: `${at}.metadata.annotations.${key}`,
      rule: 'configuration snippet annotations are not allowed',
    }));
}

function workloadViolations(manifest: Manifest, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const replicas = (manifest.spec as { replicas?: unknown } | undefined)?.replicas;
  if (
    manifest.kind === 'Deployment' &&
    replicas !== undefined &&
    !(typeof replicas === 'number' && replicas <= policy.maxReplicas)
  ) {
    return [{ path: `${at}.spec.replicas`, rule: `at most ${policy.maxReplicas} replicas` }];
  }
  return [];
}

/**
 * The rules for one object, wherever it comes from (a deployment spec, a volume, a transfer Job);
 * `at` is the path violations are reported under.
 */
export function manifestViolations(
  manifest: Manifest,
  at: string,
  policy: DeployerPolicy,
): PolicyViolation[] {
  const shapes = shapeViolations(manifest, at);
  return shapes.length > 0 ? shapes : ruleViolations(manifest, at, policy);
}

/** Kinds without a namespace: their rules say which namespaces they may serve. */
const CLUSTER_SCOPED = new Set(['PersistentVolume', 'VolumeSnapshotContent']);

/** The rules proper, for an object whose shape has been checked. */
function ruleViolations(manifest: Manifest, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const namespace = manifest.metadata?.namespace;
  if (!CLUSTER_SCOPED.has(manifest.kind) && (!namespace || !policy.namespaces.includes(namespace))) {
    violations.push({
      path: `${at}.metadata.namespace`,
      rule: `namespace must be one of: ${policy.namespaces.join(', ')}`,
    });
  }
  switch (manifest.kind) {
    case 'PersistentVolume':
    case 'PersistentVolumeClaim':
      violations.push(...volumeViolations(manifest, at, policy));
      break;
    case 'VolumeSnapshotContent':
      violations.push(...snapshotContentViolations(manifest, at, policy));
      break;
    case 'Service':
      violations.push(...serviceViolations(manifest, at, policy));
      break;
    case 'Ingress':
      violations.push(...ingressViolations(manifest, at));
      break;
    case 'ConfigMap':
      violations.push(...configMapViolations(manifest, at));
      break;
    default:
      violations.push(...workloadViolations(manifest, at, policy));
  }
  const pod = podSpecOf(manifest);
  if (pod) {
    violations.push(
      ...profileAnnotationViolations(pod.annotations, `${at}.${pod.annotationsAt}`),
      ...podViolations(pod.spec, `${at}.${pod.at}`, policy),
    );
  }
  return violations;
}

/** Kubernetes takes text only; anything else would fail there, after other objects were applied. */
function configMapViolations(manifest: Manifest, at: string): PolicyViolation[] {
  return (['data', 'binaryData'] as const).flatMap((field) =>
    Object.entries((manifest[field] ?? {}) as Json)
      .filter(([, value]) => typeof value !== 'string')
      .map(([key]) => ({ path: `${at}.${field}.${key}`, rule: 'ConfigMap values must be strings' })),
  );
}

/** The persistent-disk mark is the volumes API's: on a spec's object it would outlive DELETE /deployments. */
function reservedMetadataViolations(
  metadata: { labels?: Json; annotations?: Json } | undefined,
  at: string,
): PolicyViolation[] {
  return (['labels', 'annotations'] as const)
    .filter((field) => metadata?.[field]?.[LABELS.persistentDisk] !== undefined)
    .map((field) => ({
      path: `${at}.${field}.${LABELS.persistentDisk}`,
      rule: `${LABELS.persistentDisk} marks persistent disks: only POST /volumes sets it`,
    }));
}

/**
 * A spec's pods mount only claims that are the deployment's: those the spec creates (in the pod's
 * namespace) and the disk its metadata names. Another reservation's disk or scratch claim is not.
 */
function claimOwnershipViolations(
  spec: DeploymentSpec,
  manifest: Manifest,
  field: string,
): PolicyViolation[] {
  const pod = podSpecOf(manifest);
  const namespace = manifest.metadata.namespace;
  const own = new Set(
    (spec.persistent_volume_claims ?? [])
      .filter((claim) => claim.metadata.namespace === namespace)
      .map((claim) => claim.metadata.name),
  );
  if (spec.metadata.disk_claim) {
    own.add(spec.metadata.disk_claim);
  }
  return (pod?.spec.volumes ?? []).flatMap((volume, index) => {
    const claimName = fieldAt(volume, 'persistentVolumeClaim', 'claimName');
    return isSet(volume.persistentVolumeClaim) && !own.has(claimName as string)
      ? [
          {
            path: `${field}.${pod!.at}.volumes[${index}].persistentVolumeClaim.claimName`,
            rule: `claim ${JSON.stringify(claimName)} is not this deployment's: a pod mounts the claims of its spec and the disk named in metadata.disk_claim`,
          },
        ]
      : [];
  });
}

/** Rules for what comes in a deployment spec only (the volumes API and transfers make their own). */
function specOnlyViolations(spec: DeploymentSpec, field: string, manifest: Manifest): PolicyViolation[] {
  const template = (manifest.spec as { template?: { metadata?: Json } } | undefined)?.template;
  return [
    ...(manifest.kind === 'PersistentVolumeClaim'
      ? specClaimViolations(manifest.spec ?? {}, `${field}.spec`)
      : []),
    ...reservedMetadataViolations(manifest.metadata, `${field}.metadata`),
    ...reservedMetadataViolations(template?.metadata, `${field}.spec.template.metadata`),
    ...claimOwnershipViolations(spec, manifest, field),
  ];
}

/** Every violation in the spec; an empty list means it may be applied. */
export function checkPolicy(spec: DeploymentSpec, policy: DeployerPolicy): PolicyViolation[] {
  return manifestsOf(spec).flatMap(({ field, manifest }) => {
    const kind = ALLOWED_KINDS[field.replace(/\[\d+\]$/, '')];
    if (`${manifest.apiVersion}/${manifest.kind}` !== kind) {
      return [{ path: `${field}.kind`, rule: `${field} must be a ${kind}` }];
    }
    const shapes = shapeViolations(manifest, field);
    return shapes.length > 0
      ? shapes
      : [...ruleViolations(manifest, field, policy), ...specOnlyViolations(spec, field, manifest)];
  });
}

/**
 * What the deployer writes whatever it was sent: the managed-by and external-id labels on every
 * object and a Deployment's pod template (how it finds, reports and deletes them), and no API
 * token mounted in pods (a dev environment has no business with the cluster's API).
 */
export function enforced(manifest: Manifest, externalId: string): Manifest {
  const forced = { [LABELS.managedBy]: MANAGED_BY, [LABELS.externalId]: externalId };
  const result: Manifest = {
    ...manifest,
    metadata: { ...manifest.metadata, labels: { ...manifest.metadata.labels, ...forced } },
  };
  if (manifest.kind === 'Pod') {
    result.spec = { ...(manifest.spec as Json | undefined), automountServiceAccountToken: false };
  }
  if (manifest.kind === 'Deployment') {
    // Its shape was checked by the policy; null (Kubernetes' "unset") is all that may remain.
    const spec = (manifest.spec ?? {}) as {
      template?: { metadata?: { labels?: Record<string, string> }; spec?: Json };
    };
    result.spec = {
      ...spec,
      template: {
        ...spec.template,
        metadata: { ...spec.template?.metadata, labels: { ...spec.template?.metadata?.labels, ...forced } },
        spec: { ...spec.template?.spec, automountServiceAccountToken: false },
      },
    };
  }
  return result;
}

/** Throws the 422 that says what broke the policy (nothing is applied); returns when nothing did. */
export function assertNoViolations(violations: PolicyViolation[], subject: string): void {
  if (violations.length > 0) {
    throw new AppError(
      DeployerErrorCode.PolicyViolation,
      `The ${subject} breaks the deployer policy (${violations.length} violation${violations.length > 1 ? 's' : ''}); nothing was applied`,
      { violations },
    );
  }
}
