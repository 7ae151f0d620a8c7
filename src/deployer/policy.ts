/**
 * What a deployer applies, whoever asks: it can create pods, so it enforces this policy on every
 * object before anything is applied (all or nothing). Violations name the path and the rule.
 */
import { parseCpuMillis, parseQuantity } from '../infra/kubernetes/quantity';
import {
  LABELS,
  MANAGED_BY,
  manifestsOf,
  type DeploymentSpec,
  type Manifest,
  type PolicyViolation,
} from './contract';
import { shapeViolations } from './policy-shapes';

export interface DeployerPolicy {
  namespaces: string[];
  maxGpus: number;
  maxCpu: string;
  maxMemory: string;
  maxVolumeSize: string;
  allowedCapabilities: string[];
  /** CSI drivers a static PersistentVolume may name (it can attach any volume the driver reaches). */
  allowedCsiDrivers: string[];
  allowLoadBalancer: boolean;
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

interface Container {
  name?: string;
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { add?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: { name?: string; hostPath?: unknown }[];
  containers?: Container[];
  initContainers?: Container[];
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

/** The rule broken by requested quantities (summed): not quantities at all, or over the maximum. */
function quantityRule(
  values: unknown[],
  parse: (value: string) => number,
  max: string,
  overMaximum: string,
): string | undefined {
  const parsed = values.map((value) => readQuantity(value, parse));
  const invalid = parsed.findIndex((n) => n === undefined);
  if (invalid >= 0) {
    return `${JSON.stringify(values[invalid])} is not a Kubernetes quantity`;
  }
  const total = (parsed as number[]).reduce((sum, n) => sum + n, 0);
  return total > parse(max) ? overMaximum : undefined;
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
  const limits: Record<string, unknown> = {
    ...container.resources?.requests,
    ...container.resources?.limits,
  };
  const present = (name: string) => (limits[name] === undefined ? [] : [limits[name]]);
  const rules = [
    quantityRule(
      Object.entries(limits)
        .filter(([name]) => name.endsWith('/gpu'))
        .map(([, value]) => value),
      parseQuantity,
      String(policy.maxGpus),
      `at most ${policy.maxGpus} GPUs per container`,
    ),
    quantityRule(present('cpu'), parseCpuMillis, policy.maxCpu, `at most ${policy.maxCpu} cpu per container`),
    quantityRule(
      present('memory'),
      parseQuantity,
      policy.maxMemory,
      `at most ${policy.maxMemory} memory per container`,
    ),
  ];
  for (const rule of rules.filter((r): r is string => r !== undefined)) {
    violations.push({ path: `${at}.resources`, rule });
  }
  return violations;
}

function podViolations(spec: PodSpec, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const flag of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[flag]) {
      violations.push({ path: `${at}.${flag}`, rule: `${flag} is not allowed` });
    }
  }
  (spec.volumes ?? []).forEach((volume, index) => {
    if (volume.hostPath !== undefined) {
      violations.push({ path: `${at}.volumes[${index}].hostPath`, rule: 'hostPath volumes are not allowed' });
    }
  });
  for (const list of ['containers', 'initContainers'] as const) {
    (spec[list] ?? []).forEach((container, index) => {
      violations.push(...containerViolations(container, `${at}.${list}[${index}]`, policy));
    });
  }
  return violations;
}

interface VolumeSpecs {
  hostPath?: unknown;
  csi?: { driver?: string };
  capacity?: { storage?: string };
  resources?: { requests?: { storage?: string } };
}

function volumeViolations(manifest: Manifest, at: string, policy: DeployerPolicy): PolicyViolation[] {
  const spec = (manifest.spec ?? {}) as VolumeSpecs;
  const violations: PolicyViolation[] = [];
  if (manifest.kind === 'PersistentVolume' && spec.hostPath !== undefined) {
    violations.push({ path: `${at}.spec.hostPath`, rule: 'hostPath volumes are not allowed' });
  }
  const driver = spec.csi?.driver;
  if (
    manifest.kind === 'PersistentVolume' &&
    driver !== undefined &&
    !policy.allowedCsiDrivers.includes(driver)
  ) {
    violations.push({ path: `${at}.spec.csi.driver`, rule: `CSI driver ${driver} is not allowed` });
  }
  const size = spec.capacity?.storage ?? spec.resources?.requests?.storage;
  const sizeRule = quantityRule(
    size === undefined ? [] : [size],
    parseQuantity,
    policy.maxVolumeSize,
    `at most ${policy.maxVolumeSize} per volume`,
  );
  if (sizeRule) {
    const path = manifest.kind === 'PersistentVolume' ? 'spec.capacity' : 'spec.resources.requests';
    violations.push({ path: `${at}.${path}.storage`, rule: sizeRule });
  }
  return violations;
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
  if (shapes.length > 0) {
    return shapes;
  }
  const violations: PolicyViolation[] = [];
  const namespace = manifest.metadata?.namespace;
  if (manifest.kind !== 'PersistentVolume' && (!namespace || !policy.namespaces.includes(namespace))) {
    violations.push({
      path: `${at}.metadata.namespace`,
      rule: `namespace must be one of: ${policy.namespaces.join(', ')}`,
    });
  }
  if (manifest.kind === 'PersistentVolume' || manifest.kind === 'PersistentVolumeClaim') {
    violations.push(...volumeViolations(manifest, at, policy));
  }
  if (
    manifest.kind === 'Service' &&
    (manifest.spec as { type?: string } | undefined)?.type === 'LoadBalancer' &&
    !policy.allowLoadBalancer
  ) {
    violations.push({ path: `${at}.spec.type`, rule: 'LoadBalancer services are not allowed' });
  }
  const pod = podSpecOf(manifest);
  if (pod) {
    violations.push(...podViolations(pod.spec, `${at}.${pod.at}`, policy));
  }
  return violations;
}

/** Every violation in the spec; an empty list means it may be applied. */
export function checkPolicy(spec: DeploymentSpec, policy: DeployerPolicy): PolicyViolation[] {
  return manifestsOf(spec).flatMap(({ field, manifest }) => {
    const kind = ALLOWED_KINDS[field.replace(/\[\d+\]$/, '')];
    if (`${manifest.apiVersion}/${manifest.kind}` !== kind) {
      return [{ path: `${field}.kind`, rule: `${field} must be a ${kind}` }];
    }
    return manifestViolations(manifest, field, policy);
  });
}

/**
 * The managed-by and external-id labels, forced onto every object (and a Deployment's pod
 * template), whatever the caller sent: they are how the deployer finds, reports and deletes.
 */
export function withManagedLabels(manifest: Manifest, externalId: string): Manifest {
  const forced = { [LABELS.managedBy]: MANAGED_BY, [LABELS.externalId]: externalId };
  const labelled: Manifest = {
    ...manifest,
    metadata: { ...manifest.metadata, labels: { ...manifest.metadata.labels, ...forced } },
  };
  if (manifest.kind === 'Deployment') {
    // Its shape was checked by the policy; null (Kubernetes' "unset") is all that may remain.
    const spec = (manifest.spec ?? {}) as { template?: { metadata?: { labels?: Record<string, string> } } };
    labelled.spec = {
      ...spec,
      template: {
        ...spec.template,
        metadata: { ...spec.template?.metadata, labels: { ...spec.template?.metadata?.labels, ...forced } },
      },
    };
  }
  return labelled;
}
