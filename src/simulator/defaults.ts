/**
 * The defaults kube-apiserver fills in before it validates and stores an object (the `SetDefaults_*`
 * functions of each API group), and those its default admission plugins add to pods (Priority,
 * DefaultTolerationSeconds, ServiceAccount's account name): what a client reads back that it never
 * sent. Only the kinds and fields ODC's objects touch; each function changes the object in place and
 * is idempotent (a value already there is kept).
 */
import { canonicalQuantity } from './quantity';
import type { K8sObject } from './store';

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function setDefault(target: Obj, field: string, value: unknown): void {
  if (target[field] === undefined || target[field] === null) {
    target[field] = value;
  }
}

/** An image without a tag, or tagged `latest`, is pulled every time; anything else if not present. */
function pullPolicyFor(image: unknown): string {
  if (typeof image !== 'string') {
    return 'IfNotPresent';
  }
  if (image.includes('@')) {
    return 'IfNotPresent';
  }
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: Obj, forPod: boolean): void {
  setDefault(container, 'imagePullPolicy', pullPolicyFor(container.image));
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  setDefault(container, 'resources', {});
  const resources = container.resources as Obj;
  // A pod's (not a template's) missing requests default to its limits (SetDefaults_Pod).
  if (forPod && isObj(resources.limits)) {
    const requests = isObj(resources.requests) ? resources.requests : {};
    for (const [name, value] of Object.entries(resources.limits)) {
      setDefault(requests, name, value);
    }
    resources.requests = requests;
  }
  for (const port of Array.isArray(container.ports) ? container.ports : []) {
    if (isObj(port)) {
      setDefault(port, 'protocol', 'TCP');
    }
  }
}

function defaultVolumes(spec: Obj): void {
  for (const volume of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (!isObj(volume)) {
      continue;
    }
    for (const source of ['configMap', 'secret', 'projected']) {
      if (isObj(volume[source])) {
        setDefault(volume[source], 'defaultMode', 420);
      }
    }
  }
}

/** SetDefaults_PodSpec, for a pod or a pod template. */
function defaultPodSpec(spec: Obj, forPod: boolean): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  for (const list of ['initContainers', 'containers']) {
    for (const container of Array.isArray(spec[list]) ? spec[list] : []) {
      if (isObj(container)) {
        defaultContainer(container, forPod);
      }
    }
  }
  defaultVolumes(spec);
}

const NOT_READY_TOLERATIONS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/** What a pod gets on create beyond its spec's defaults: admission plugins' additions. */
function admitPod(spec: Obj): void {
  // Priority: no PriorityClass named, the global default (none here) or zero.
  setDefault(spec, 'priority', 0);
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  // ServiceAccount (the token volume it also mounts is not simulated: docs/simulator.md).
  setDefault(spec, 'serviceAccountName', 'default');
  setDefault(spec, 'serviceAccount', spec.serviceAccountName);
  // DefaultTolerationSeconds: tolerate a node that is not ready or unreachable for five minutes.
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Obj[]) : [];
  for (const key of NOT_READY_TOLERATIONS) {
    const tolerated = tolerations.some(
      (t) =>
        (t.key === key || (t.key === undefined && t.operator === 'Exists')) &&
        (!t.effect || t.effect === 'NoExecute'),
    );
    if (!tolerated) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
}

function defaultTemplate(spec: Obj): void {
  const template = spec.template;
  if (isObj(template) && isObj(template.spec)) {
    defaultPodSpec(template.spec, false);
  }
}

function defaultService(spec: Obj): void {
  setDefault(spec, 'type', 'ClusterIP');
  if (spec.type === 'ExternalName') {
    return;
  }
  setDefault(spec, 'sessionAffinity', 'None');
  for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
    if (isObj(port)) {
      setDefault(port, 'protocol', 'TCP');
      setDefault(port, 'targetPort', port.port);
    }
  }
  setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  }
  setDefault(spec, 'ipFamilies', ['IPv4']);
  setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
}

/**
 * What the admission plugins add to a new object after its defaults (and after its fields were
 * given to their manager: admission's additions belong to none). Pods only.
 */
export function admit(object: K8sObject): K8sObject {
  if (object.kind === 'Pod' && isObj(object.spec)) {
    admitPod(object.spec);
  }
  return object;
}

/** Fills in what kube-apiserver would, for the kinds it knows (see the module comment). */
export function applyDefaults(object: K8sObject): K8sObject {
  const spec = isObj(object.spec) ? object.spec : undefined;
  switch (object.kind) {
    case 'Pod':
      if (spec) {
        defaultPodSpec(spec, true);
        setDefault(spec, 'enableServiceLinks', true);
      }
      break;
    case 'Deployment':
      if (spec) {
        setDefault(spec, 'replicas', 1);
        setDefault(spec, 'strategy', {});
        const strategy = spec.strategy as Obj;
        setDefault(strategy, 'type', 'RollingUpdate');
        if (strategy.type === 'RollingUpdate') {
          setDefault(strategy, 'rollingUpdate', {});
          setDefault(strategy.rollingUpdate as Obj, 'maxUnavailable', '25%');
          setDefault(strategy.rollingUpdate as Obj, 'maxSurge', '25%');
        }
        setDefault(spec, 'revisionHistoryLimit', 10);
        setDefault(spec, 'progressDeadlineSeconds', 600);
        defaultTemplate(spec);
      }
      break;
    case 'ReplicaSet':
      if (spec) {
        setDefault(spec, 'replicas', 1);
        defaultTemplate(spec);
      }
      break;
    case 'Job':
      if (spec) {
        setDefault(spec, 'parallelism', 1);
        setDefault(spec, 'completions', 1);
        setDefault(spec, 'backoffLimit', 6);
        setDefault(spec, 'completionMode', 'NonIndexed');
        setDefault(spec, 'suspend', false);
        setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
        setDefault(spec, 'manualSelector', false);
        defaultTemplate(spec);
      }
      break;
    case 'Service':
      if (spec) {
        defaultService(spec);
      }
      break;
    case 'PersistentVolumeClaim':
      if (spec) {
        setDefault(spec, 'volumeMode', 'Filesystem');
      }
      break;
    case 'PersistentVolume':
      if (spec) {
        setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
        setDefault(spec, 'volumeMode', 'Filesystem');
      }
      break;
    case 'StorageClass':
      setDefault(object, 'reclaimPolicy', 'Delete');
      setDefault(object, 'volumeBindingMode', 'Immediate');
      break;
    case 'NetworkPolicy':
      if (spec) {
        setDefault(spec, 'policyTypes', spec.egress !== undefined ? ['Ingress', 'Egress'] : ['Ingress']);
      }
      break;
    default:
      break;
  }
  return object;
}

/**
 * A pod's quality-of-service class, as the API server sets it on create: BestEffort without any cpu
 * or memory requests or limits, Guaranteed when every container's cpu and memory limits equal its
 * requests, else Burstable.
 */
export function qosClassOf(pod: K8sObject): string {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const lists = [spec.initContainers, spec.containers].filter(Array.isArray) as unknown[][];
  const containers = lists.flat().filter(isObj);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const container of containers) {
    const resources = isObj(container.resources) ? container.resources : {};
    const limits = isObj(resources.limits) ? resources.limits : {};
    const requests = { ...limits, ...(isObj(resources.requests) ? resources.requests : {}) };
    for (const name of ['cpu', 'memory']) {
      if (requests[name] !== undefined || limits[name] !== undefined) {
        any = true;
      }
      if (limits[name] === undefined || JSON.stringify(limits[name]) !== JSON.stringify(requests[name])) {
        guaranteed = false;
      }
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The status a new pod is stored with (a client's status is not taken on create). */
export function initialPodStatus(pod: K8sObject): Record<string, unknown> {
  return { phase: 'Pending', qosClass: qosClassOf(pod) };
}

// ---- what the registries' strategies do to every write (PrepareForCreate / PrepareForUpdate) ------

/** Container resources in a pod spec (a pod's or a template's), and the pod's own quantities. */
function canonicalPodSpecQuantities(spec: unknown): void {
  if (!isObj(spec)) {
    return;
  }
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const container of Array.isArray(spec[list]) ? spec[list] : []) {
      if (isObj(container)) {
        canonicalResources(container.resources);
      }
    }
  }
  canonicalResources(spec.resources);
  canonicalMap(spec.overhead);
  for (const volume of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (isObj(volume) && isObj(volume.emptyDir) && volume.emptyDir.sizeLimit !== undefined) {
      volume.emptyDir.sizeLimit = canonicalQuantity(volume.emptyDir.sizeLimit);
    }
  }
}

function canonicalResources(resources: unknown): void {
  if (isObj(resources)) {
    canonicalMap(resources.limits);
    canonicalMap(resources.requests);
  }
}

function canonicalMap(map: unknown): void {
  if (isObj(map)) {
    for (const [name, value] of Object.entries(map)) {
      map[name] = canonicalQuantity(value);
    }
  }
}

/**
 * Resource quantities as kube-apiserver stores them: decoded into `Quantity` and written back in
 * canonical form (`1024Mi` reads back `1Gi`, `0.5` `500m`), in the kinds ODC's objects use.
 */
function canonicalQuantities(object: K8sObject): void {
  const spec = isObj(object.spec) ? object.spec : undefined;
  const status = isObj(object.status) ? object.status : undefined;
  switch (object.kind) {
    case 'Pod':
      canonicalPodSpecQuantities(spec);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'Job':
      canonicalPodSpecQuantities(isObj(spec?.template) ? spec.template.spec : undefined);
      break;
    case 'PersistentVolumeClaim':
      canonicalResources(spec?.resources);
      canonicalMap(status?.capacity);
      canonicalMap(status?.allocatedResources);
      break;
    case 'PersistentVolume':
      canonicalMap(spec?.capacity);
      break;
    case 'Node':
      canonicalMap(status?.capacity);
      canonicalMap(status?.allocatable);
      break;
    default:
      break;
  }
}

/**
 * A claim names its data source in both fields (NormalizeDataSources, on create and update): a
 * `dataSource` is copied into `dataSourceRef`, and a `dataSourceRef` without a namespace into
 * `dataSource`.
 */
function normaliseDataSources(spec: Obj): void {
  const source = isObj(spec.dataSource) ? spec.dataSource : undefined;
  const ref = isObj(spec.dataSourceRef) ? spec.dataSourceRef : undefined;
  const copy = (from: Obj) => ({
    ...(from.apiGroup !== undefined && from.apiGroup !== null ? { apiGroup: from.apiGroup } : {}),
    kind: from.kind,
    name: from.name,
  });
  if (source && !ref) {
    spec.dataSourceRef = copy(source);
  } else if (ref && !source && !ref.namespace) {
    spec.dataSource = copy(ref);
  }
}

/**
 * A volume's `status.lastPhaseTransitionTime` is the API server's (the PersistentVolume
 * strategy): set when it is created and whenever a write changes its phase without setting a new
 * time; kept when the phase stays.
 */
function phaseTransition(next: K8sObject, current: K8sObject | undefined, now: string): void {
  const status = isObj(next.status) ? next.status : undefined;
  if (!status) {
    return;
  }
  const before = isObj(current?.status) ? current.status : undefined;
  if (!current) {
    status.lastPhaseTransitionTime = now;
  } else if (before?.phase === status.phase) {
    setDefault(status, 'lastPhaseTransitionTime', before?.lastPhaseTransitionTime);
    if (status.lastPhaseTransitionTime === undefined) {
      delete status.lastPhaseTransitionTime;
    }
  } else if (
    status.lastPhaseTransitionTime === undefined ||
    status.lastPhaseTransitionTime === null ||
    status.lastPhaseTransitionTime === before?.lastPhaseTransitionTime
  ) {
    status.lastPhaseTransitionTime = now;
  }
}

/**
 * What the registries' strategies do to every write before it is validated and stored, and that
 * belongs to no field manager: canonical quantities, a claim's data sources, a volume's phase
 * transition time. `current` is the stored object (none on create), `now` a Kubernetes timestamp.
 */
export function prepareForStorage(
  next: K8sObject,
  current: K8sObject | undefined,
  subresource: string | undefined,
  now: string,
): void {
  canonicalQuantities(next);
  if (next.kind === 'PersistentVolumeClaim' && subresource !== 'status' && isObj(next.spec)) {
    normaliseDataSources(next.spec);
  }
  if (next.kind === 'PersistentVolume') {
    phaseTransition(next, current, now);
  }
}
