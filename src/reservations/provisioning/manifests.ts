/**
 * The Kubernetes objects of one GPU reservation, built for the one cluster it was placed on from
 * that cluster's profile (the coordinator builds the manifests; the cluster's deployer only checks
 * its policy and applies them, so it stays stateless and knows nothing of reservations). Pure: same input, same spec; re-applying the spec with a new
 * notice (expiry warnings) changes the keys ConfigMap and nothing that restarts the pod.
 *
 * Objects, all named after the reservation's external id `<ext>` (a DNS label like odc-1a2b3c4d5e6f):
 * ConfigMap `<ext>-keys` (authorized_keys, notice), Service `<ext>-ssh` (NodePort: SSH, and Jupyter
 * when on), Ingress `<ext>-jupyter` (Jupyter, when on and the profile has an ingress domain),
 * Deployment `<ext>` (one pod pinned to the chosen node, with its GPUs) and PodDisruptionBudget
 * `<ext>` (a drain must not take a running dev environment away).
 *
 * What the deployer's policy (src/deployer/policy.ts) enforces shaped it: no host access, no added
 * capabilities (none are allowed by default, so the container drops ALL and adds none), only
 * configMap/emptyDir/… volumes, no `nodeName` (placement goes through affinity), at most one replica,
 * GPUs counted from resources named `<vendor>/gpu` or `<vendor>/mig-…`. The deployer itself adds the
 * managed-by and external-id labels and turns off the service account token (we set both anyway).
 */
import type { ClusterProfile, ProfileGpuType, ProfileToleration } from '../../clusters/public';
import { LABELS, SPEC_VERSION, type DeploymentSpec, type Manifest } from '../../deployer/public';

export interface ManifestInput {
  reservation: {
    id: string;
    externalId: string;
    name: string | null;
    gpuCount: number;
    image: string | null;
    jupyter: boolean;
    nodeName: string;
    expiresAt: Date | null;
    durationMinutes: number;
    extendedMinutes: number;
    nodeLabels: Record<string, string> | null;
  };
  /** Its persistent disk's claim, mounted at /home/dev (without one, /home/dev is scratch space). */
  disk?: { claimName: string };
  owner: { id: string; username: string; sshKeys: string[] };
  secondaryUsers: { username: string; sshKeys: string[] }[];
  cluster: { name: string; profile: ClusterProfile };
  gpuType: { name: string; resourceName: string | null };
  /** ODC_DEFAULT_IMAGE when the reservation names none. */
  defaultImage: string;
  /** The notice file's text (expiry warnings are written into it later by re-applying the spec). */
  notice: string;
}

/** The profile's documented default namespace (ClusterProfile.namespace). */
export const DEFAULT_NAMESPACE = 'odc-workloads';
/** The profile's documented default GPU resource (ProfileGpuType.resource_name). */
export const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';

const USER_LABEL = 'odc.dev/user';
const RESERVATION_LABEL = 'odc.dev/reservation';
const APP_NAME_LABEL = 'app.kubernetes.io/name';
const APP_NAME = 'odc-devbox';

const SSH_PORT = 22;
const JUPYTER_PORT = 8888;
/** Where the keys ConfigMap is mounted: the image's sshd and login scripts read it from there. */
const CONFIG_DIR = '/etc/odc';
const HOME_DIR = '/home/dev';
const CONTAINER_NAME = 'dev';

/** A DNS label short enough that `<ext>-ssh` (a Service name, itself a DNS label) still is one. */
const EXTERNAL_ID = /^[a-z0-9]([-a-z0-9]{0,57}[a-z0-9])?$/;

type Labels = Record<string, string>;

/** What the pod, the Services and the ConfigMap are called. */
interface Names {
  externalId: string;
  namespace: string;
  deployment: string;
  keys: string;
  service: string;
  ingress: string;
}

function namesOf(input: ManifestInput): Names {
  const externalId = input.reservation.externalId;
  // A wrong external id would make the API server refuse some objects and accept others: refuse here.
  if (!EXTERNAL_ID.test(externalId)) {
    throw new Error(`External id ${JSON.stringify(externalId)} is not a DNS label of at most 59 characters`);
  }
  return {
    externalId,
    namespace: input.cluster.profile.namespace ?? DEFAULT_NAMESPACE,
    deployment: externalId,
    keys: `${externalId}-keys`,
    service: `${externalId}-ssh`,
    ingress: `${externalId}-jupyter`,
  };
}

/**
 * A username as a label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends). The label
 * is for finding a user's objects with kubectl; who owns the reservation is in the spec's metadata,
 * so two usernames that sanitize alike only make a selector a little wider. Nothing left: empty,
 * which is a valid label value and claims no one's name.
 */
function userLabelValue(username: string): string {
  const trimEnds = (value: string) => value.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return trimEnds(trimEnds(username.replace(/[^A-Za-z0-9._-]+/g, '-')).slice(0, 63));
}

function commonLabels(input: ManifestInput): Labels {
  return {
    [LABELS.externalId]: input.reservation.externalId,
    [RESERVATION_LABEL]: input.reservation.id,
    [USER_LABEL]: userLabelValue(input.owner.username),
    [APP_NAME_LABEL]: APP_NAME,
  };
}

/** Only the external id: the selector of a Deployment is immutable, so it holds nothing that may change. */
function podSelector(names: Names): Labels {
  return { [LABELS.externalId]: names.externalId };
}

function objectMeta(name: string, names: Names, labels: Labels): Manifest['metadata'] {
  return { name, namespace: names.namespace, labels: { ...labels } };
}

/**
 * Owner's keys first, then each secondary user's, one per line. An entry holding several lines
 * (a pasted file) counts as several keys, so no entry can smuggle in a blank or partial line; the
 * same key given twice (a user listed twice, a key shared) appears once.
 */
function authorizedKeys(input: ManifestInput): string {
  const entries = [input.owner, ...input.secondaryUsers].flatMap((user) => user.sshKeys);
  const lines = entries.flatMap((entry) => entry.split(/\r?\n/)).map((line) => line.trim());
  const keys = [...new Set(lines.filter((line) => line !== ''))];
  return keys.map((key) => `${key}\n`).join('');
}

function keysConfigMap(input: ManifestInput, names: Names, labels: Labels): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(names.keys, names, labels),
    // `jupyter` here, not in the pod template: turning Jupyter on or off must not restart the pod.
    data: {
      authorized_keys: authorizedKeys(input),
      notice: input.notice,
      jupyter: String(input.reservation.jupyter),
    },
  };
}

/**
 * NodePort: SSH is reached on the node's address. A deployer with ODC_DEPLOYER_ALLOW_NODEPORT off
 * refuses it (the reservation then fails with the policy violation).
 */
function service(input: ManifestInput, names: Names, labels: Labels): Manifest {
  const ports = [{ name: 'ssh', port: SSH_PORT, targetPort: SSH_PORT, protocol: 'TCP' }];
  if (input.reservation.jupyter) {
    ports.push({ name: 'jupyter', port: JUPYTER_PORT, targetPort: JUPYTER_PORT, protocol: 'TCP' });
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(names.service, names, labels),
    spec: { type: 'NodePort', selector: podSelector(names), ports },
  };
}

/**
 * Jupyter at `<ext>.<ingress_domain>`. Without an ingress domain the cluster has no way to give it a
 * host name, so there is no Ingress and no Jupyter URL (the port stays reachable on the Service).
 */
function jupyterIngress(input: ManifestInput, names: Names, labels: Labels): Manifest | undefined {
  const { ingress_domain: domain, ingress_class: ingressClass } = input.cluster.profile;
  if (!input.reservation.jupyter || !domain) {
    return undefined;
  }
  const backend = { service: { name: names.service, port: { name: 'jupyter' } } };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: objectMeta(names.ingress, names, labels),
    spec: {
      ...(ingressClass ? { ingressClassName: ingressClass } : {}),
      rules: [
        {
          host: `${names.externalId}.${domain}`,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend }] },
        },
      ],
    },
  };
}

function profileGpuType(input: ManifestInput): ProfileGpuType | undefined {
  return input.cluster.profile.gpu_types?.find((type) => type.name === input.gpuType.name);
}

/**
 * The extended resource the pod requests, or null for a CPU-only type (the catalog says which: its
 * resource name is null). A cluster may name the resource its own way (MIG slices, another vendor),
 * so the profile's name comes before the catalog's.
 */
function gpuResourceName(input: ManifestInput): string | null {
  if (input.gpuType.resourceName === null) {
    return null;
  }
  return profileGpuType(input)?.resource_name ?? (input.gpuType.resourceName || DEFAULT_GPU_RESOURCE);
}

/**
 * The GPU type's node selector, plus the labels the reservation asked for. The type's labels win a
 * clash: they are what the capacity sync counted this node's GPUs under, so a reservation must not
 * be able to ask for, say, an h100 by name and land on another product's nodes.
 */
function nodeSelector(input: ManifestInput): Labels {
  return { ...input.reservation.nodeLabels, ...profileGpuType(input)?.node_selector };
}

/**
 * Pinned to the node placement chose, by the node's name: `nodeName` itself would bypass the
 * scheduler (and the policy refuses it), and the hostname label need not equal the name.
 */
function pinnedToNode(nodeName: string): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
}

/** Only the fields the profile set: Kubernetes reads an absent field, not an undefined one. */
function toleration(source: ProfileToleration): Record<string, string> {
  return Object.fromEntries(
    (['key', 'operator', 'value', 'effect'] as const)
      .filter((field) => source[field] !== undefined)
      .map((field) => [field, source[field] as string]),
  );
}

/**
 * The profile's tolerations, and one for the GPU resource's taint (how GPU nodes commonly keep
 * other pods off), unless the profile already has that very one.
 */
function tolerations(input: ManifestInput, resource: string | null): Record<string, string>[] {
  const list = (input.cluster.profile.tolerations ?? []).map(toleration);
  if (resource !== null) {
    list.push({ key: resource, operator: 'Exists', effect: 'NoSchedule' });
  }
  const identity = (item: Record<string, string>) =>
    JSON.stringify([item.key, item.operator, item.value, item.effect]);
  return list.filter(
    (item, index) => list.findIndex((other) => identity(other) === identity(item)) === index,
  );
}

/** Requests equal to limits: Kubernetes requires that of extended resources anyway. */
function gpuResources(input: ManifestInput, resource: string | null): Record<string, unknown> | undefined {
  if (resource === null || input.reservation.gpuCount <= 0) {
    return undefined;
  }
  const amount = { [resource]: String(input.reservation.gpuCount) };
  return { limits: amount, requests: { ...amount } };
}

function containerEnv(input: ManifestInput): { name: string; value: string }[] {
  return [
    { name: 'ODC_RESERVATION_ID', value: input.reservation.id },
    { name: 'ODC_EXTERNAL_ID', value: input.reservation.externalId },
    { name: 'ODC_USER', value: input.owner.username },
    { name: 'ODC_JUPYTER_FILE', value: `${CONFIG_DIR}/jupyter` },
    { name: 'ODC_NOTICE_FILE', value: `${CONFIG_DIR}/notice` },
  ];
}

/**
 * The dev container. No capability is added (the deployer's default policy allows none), so the
 * image must run sshd without root's powers (as the dev user, privilege separation off).
 */
function devContainer(input: ManifestInput, resource: string | null): Record<string, unknown> {
  // Both ports always: the pod template stays the same whether Jupyter is on (the Service and the
  // Ingress expose it, or not), so toggling it never restarts the environment.
  const ports = [
    { name: 'ssh', containerPort: SSH_PORT, protocol: 'TCP' },
    { name: 'jupyter', containerPort: JUPYTER_PORT, protocol: 'TCP' },
  ];
  const resources = gpuResources(input, resource);
  return {
    name: CONTAINER_NAME,
    image: input.reservation.image ?? input.defaultImage,
    imagePullPolicy: 'IfNotPresent',
    ports,
    env: containerEnv(input),
    ...(resources ? { resources } : {}),
    // The whole directory, not subPath files: those never see the ConfigMap's updates (new notices).
    volumeMounts: [
      { name: 'odc', mountPath: CONFIG_DIR, readOnly: true },
      { name: homeVolume(input).name, mountPath: HOME_DIR },
    ],
    readinessProbe: { tcpSocket: { port: SSH_PORT }, initialDelaySeconds: 2, periodSeconds: 5 },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
}

function podSpec(input: ManifestInput, names: Names): Record<string, unknown> {
  const resource = gpuResourceName(input);
  const selector = nodeSelector(input);
  const podTolerations = tolerations(input, resource);
  return {
    automountServiceAccountToken: false,
    // Service links put every Service of the namespace (other users' too) into the environment.
    enableServiceLinks: false,
    ...(Object.keys(selector).length > 0 ? { nodeSelector: selector } : {}),
    affinity: pinnedToNode(input.reservation.nodeName),
    ...(podTolerations.length > 0 ? { tolerations: podTolerations } : {}),
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    containers: [devContainer(input, resource)],
    volumes: [{ name: 'odc', configMap: { name: names.keys, defaultMode: 0o444 } }, homeVolume(input)],
  };
}

/**
 * /home/dev: the reservation's disk, or scratch space that lives with the pod. The two are named
 * apart so a spec applied again never turns one into the other in place.
 */
function homeVolume(input: ManifestInput): Record<string, unknown> & { name: string } {
  return input.disk
    ? { name: 'home', persistentVolumeClaim: { claimName: input.disk.claimName } }
    : { name: 'scratch', emptyDir: {} };
}

/** One pod; Recreate, because its GPUs cannot be held twice while a new pod starts. */
function deployment(input: ManifestInput, names: Names, labels: Labels): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(names.deployment, names, labels),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: podSelector(names) },
      template: { metadata: { labels: { ...labels } }, spec: podSpec(input, names) },
    },
  };
}

/** A voluntary eviction (a node drain) waits rather than take a dev environment away mid-work. */
function disruptionBudget(names: Names, labels: Labels): Manifest {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(names.deployment, names, labels),
    spec: { maxUnavailable: 0, selector: { matchLabels: podSelector(names) } },
  };
}

/** The deployment spec of one reservation on its cluster, ready for the deployer's POST /deployments. */
export function buildDeploymentSpec(input: ManifestInput): DeploymentSpec {
  const names = namesOf(input);
  const labels = commonLabels(input);
  const ingress = jupyterIngress(input, names, labels);
  return {
    metadata: {
      external_id: names.externalId,
      reservation_id: input.reservation.id,
      user_id: input.owner.id,
      username: input.owner.username,
      spec_version: SPEC_VERSION,
      ...(input.disk ? { disk_claim: input.disk.claimName } : {}),
    },
    config_maps: [keysConfigMap(input, names, labels)],
    service: service(input, names, labels),
    ...(ingress ? { ingress } : {}),
    pod_disruption_budget: disruptionBudget(names, labels),
    deployment: deployment(input, names, labels),
  };
}

/**
 * The notice file users find at $ODC_NOTICE_FILE: what this is and when it ends. Before activation
 * the expiry is not known, so it says how long after activation (`minutes`, its hours and
 * extensions): the time itself is written with the next re-apply (an extension, share or expiry
 * warning), not by one at activation, which would cost every reservation a second apply.
 */
export function noticeText(input: {
  externalId: string;
  username: string;
  expiresAt: Date | null;
  minutes?: number;
  warning?: string;
}): string {
  const expiry = input.expiresAt
    ? input.expiresAt.toISOString()
    : input.minutes !== undefined
      ? `${formatMinutes(input.minutes)} after it became active (its expires_at in ODC has the time)`
      : 'not yet set (its duration counts from when it becomes active)';
  const lines = [`ODC reservation ${input.externalId} of ${input.username}`, `Expires at: ${expiry}`];
  if (input.warning) {
    lines.push(input.warning);
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** `8 h`, `1 h 30 min`, `45 min`. */
function formatMinutes(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = Math.round(minutes % 60);
  if (hours === 0) {
    return `${rest} min`;
  }
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
