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

/** Pod volume sources that reach nothing beyond the pod's own namespace objects and scratch space. */
const POD_VOLUME_SOURCES = new Set([
  'persistentVolumeClaim',
  'configMap',
  'emptyDir',
  'downwardAPI',
  'projected',
  'ephemeral',
]);
const PROJECTED_SOURCES = new Set(['configMap', 'downwardAPI']);
const CSI_SECRET_REFS = [
  'controllerPublishSecretRef',
  'nodePublishSecretRef',
  'nodeStageSecretRef',
  'controllerExpandSecretRef',
  'nodeExpandSecretRef',
];

type Json = Record<string, unknown>;

/** The security context fields Pod Security's baseline standard restricts, pod and container alike. */
interface SecurityContext {
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
}

interface Container {
  securityContext?: SecurityContext & {
    privileged?: boolean;
    capabilities?: { add?: string[] };
    procMount?: string;
  };
  ports?: { hostPort?: number }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  nodeName?: string;
  serviceAccountName?: string;
  serviceAccount?: string;
  securityContext?: SecurityContext & { sysctls?: unknown[] };
  volumes?: Json[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: unknown[];
}

function podSpecOf(manifest: Manifest): { spec: PodSpec; at: string } | undefined {
  if (manifest.kind === 'Pod') {
    return { spec: manifest.spec ?? {}, at: 'spec' };
  }
  if (manifest.kind === 'Deployment' || manifest.kind === 'Job') {
    const template = (manifest.spec as { template?: { spec?: PodSpec } } | undefined)?.template;
    return { spec: template?.spec ?? {}, at: 'spec.template.spec' };
  }
  return undefined;
}

/** A quantity as a number, or undefined when it is not one (the policy cannot vouch for it). */
function readQuantity(value: unknown, parse: (value: string) => number): number | undefined {
  try {
    const parsed = parse(value as string);
    return Number.isFinite(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const isGpu = (resource: string) => resource.endsWith('/gpu') || resource.includes('/mig-');

/** What one container asks for: requests, raised to its limits where those are higher. */
function demandOf(container: Container): Map<string, unknown> {
  return new Map(Object.entries({ ...container.resources?.requests, ...container.resources?.limits }));
}

/**
 * The pod's resources against the maxima, summed over its containers (init containers run one at a
 * time, so the largest counts). A violation names the container that went over, or the one whose
 * quantity cannot be read (the policy cannot vouch for it).
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
    const amountsOf = (container: Container) =>
      [...demandOf(container)].filter(([resource]) => select(resource)).map(([, value]) => value);
    let total = 0;
    let largestInit = 0;
    const visit = (container: Container, path: string, init: boolean): boolean => {
      let sum = 0;
      for (const value of amountsOf(container)) {
        const amount = readQuantity(value, parse);
        if (amount === undefined) {
          violations.push({
            path: `${path}.resources`,
            rule: `${JSON.stringify(value)} is not a Kubernetes quantity`,
          });
          return false;
        }
        sum += amount;
      }
      if (init) {
        largestInit = Math.max(largestInit, sum);
      } else {
        total += sum;
      }
      if (Math.max(total, largestInit) > maximum) {
        violations.push({ path: `${path}.resources`, rule: `at most ${max} ${name} per pod` });
        return false;
      }
      return true;
    };
    const walk = (list: 'containers' | 'initContainers') =>
      (spec[list] ?? []).every((container, index) =>
        visit(container, `${at}.${list}[${index}]`, list === 'initContainers'),
      );
    void (walk('containers') && walk('initContainers'));
  }
  return violations;
}

/** Unconfined profiles, custom SELinux identities and Windows host processes: each escapes isolation. */
function securityContextViolations(context: SecurityContext | undefined, at: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const profile of ['seccompProfile', 'appArmorProfile'] as const) {
    if (context?.[profile]?.type === 'Unconfined') {
      violations.push({ path: `${at}.${profile}`, rule: `an unconfined ${profile} is not allowed` });
    }
  }
  const selinux = context?.seLinuxOptions;
  if (selinux?.user !== undefined || selinux?.role !== undefined) {
    violations.push({ path: `${at}.seLinuxOptions`, rule: 'custom SELinux users and roles are not allowed' });
  }
  if (
    selinux?.type !== undefined &&
    !['container_t', 'container_init_t', 'container_kvm_t'].includes(selinux.type)
  ) {
    violations.push({
      path: `${at}.seLinuxOptions.type`,
      rule: `SELinux type ${selinux.type} is not allowed`,
    });
  }
  if (context?.windowsOptions?.hostProcess) {
    violations.push({ path: `${at}.windowsOptions.hostProcess`, rule: 'host processes are not allowed' });
  }
  return violations;
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
    if (!policy.allowedCapabilities.includes(capability)) {
      violations.push({
        path: `${at}.securityContext.capabilities.add`,
        rule: `capability ${capability} is not allowed`,
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
  return violations;
}

function volumeSourceViolations(volume: Json, at: string): PolicyViolation[] {
  const sources = Object.keys(volume).filter((key) => key !== 'name');
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
  return violations;
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
  if (spec.securityContext?.sysctls !== undefined) {
    violations.push({ path: `${at}.securityContext.sysctls`, rule: 'sysctls are not allowed' });
  }
  if (spec.ephemeralContainers !== undefined) {
    violations.push({ path: `${at}.ephemeralContainers`, rule: 'ephemeral containers are not allowed' });
  }
  (spec.volumes ?? []).forEach((volume, index) =>
    violations.push(...volumeSourceViolations(volume, `${at}.volumes[${index}]`)),
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

function claimViolations(spec: VolumeSpecs, at: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const field of ['dataSource', 'dataSourceRef'] as const) {
    const kind = spec[field]?.kind;
    if (kind !== undefined && kind !== 'VolumeSnapshot' && kind !== 'PersistentVolumeClaim') {
      violations.push({
        path: `${at}.spec.${field}.kind`,
        rule: 'a claim starts from a VolumeSnapshot or another claim only',
      });
    }
  }
  if (spec.dataSourceRef?.namespace !== undefined) {
    violations.push({
      path: `${at}.spec.dataSourceRef.namespace`,
      rule: 'a claim starts from its own namespace only',
    });
  }
  return violations;
}

function volumeViolations(manifest: Manifest, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const spec = (manifest.spec ?? {}) as VolumeSpecs & Json;
  const violations =
    manifest.kind === 'PersistentVolume'
      ? persistentVolumeViolations(spec, at, policy)
      : claimViolations(spec, at);
  const size = spec.capacity?.storage ?? spec.resources?.requests?.storage;
  if (size !== undefined) {
    const path = `${at}.${manifest.kind === 'PersistentVolume' ? 'spec.capacity' : 'spec.resources.requests'}.storage`;
    const amount = readQuantity(size, parseQuantity);
    if (amount === undefined) {
      violations.push({ path, rule: `${JSON.stringify(size)} is not a Kubernetes quantity` });
    } else if (amount > parseQuantity(policy.maxVolumeSize)) {
      violations.push({ path, rule: `at most ${policy.maxVolumeSize} per volume` });
    }
  }
  return violations;
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
    default:
      violations.push(...workloadViolations(manifest, at, policy));
  }
  const pod = podSpecOf(manifest);
  if (pod) {
    violations.push(...podViolations(pod.spec, `${at}.${pod.at}`, policy));
  }
  return violations;
}

/** A claim in a spec may not pick its volume by name: that is how another's disk would be bound. */
function specOnlyViolations(field: string, manifest: Manifest): PolicyViolation[] {
  const volumeName = (manifest.spec as { volumeName?: unknown } | undefined)?.volumeName;
  return manifest.kind === 'PersistentVolumeClaim' && volumeName !== undefined
    ? [
        {
          path: `${field}.spec.volumeName`,
          rule: 'claims are bound by the cluster; existing volumes go through POST /volumes',
        },
      ]
    : [];
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
      : [...ruleViolations(manifest, field, policy), ...specOnlyViolations(field, manifest)];
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
