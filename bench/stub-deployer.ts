/**
 * A deployer that answers from memory: the routes of src/deployer/deployer.controller.ts that the
 * coordinator calls on the reservation path, with the wire shapes of src/deployer/contract.ts, and
 * no Kubernetes behind them. It lets a benchmark measure the control plane alone (the simulated
 * fleet costs more CPU per reservation than ODC does, on the same cores) and stands in for many
 * clusters at little cost. Only node:http and the contract: no Nest, no Kubernetes client.
 *
 * What it keeps, per cluster: N nodes × G GPUs (labelled with the GPU product, a zone and the
 * hostname), and the deployments applied, each with its objects as sent. A deployment's pod is
 * "scheduled" like Kubernetes would: onto the node its affinity pins (`matchFields metadata.name`),
 * or the first node its node selector matches, when that node has its GPUs free; otherwise it stays
 * Pending with the scheduler's message (so an overbooking control plane shows, it is counted in
 * `stats.unschedulable`). A scheduled pod is ready `readyDelayMs` after its apply (0: at once);
 * its NodePort Service gets a port from 30000–32767 (a full range answers like a cluster does).
 *
 * Routes (under /api/v1, bearer token when one is set): GET /health, GET /capacity, POST
 * /deployments (201 when something was made, else 200; objects of the earlier spec not in this one
 * are `pruned`), GET /deployments[?external_id=a,b], DELETE /deployments/{id} (204, gone or not),
 * GET /deployments/{id}/status and …/url-ready, GET /volumes and /snapshots (always empty: the
 * reservation path without disks never calls the others, which answer 501). GET /_stub/stats
 * (no token) answers what it counted.
 *
 * `startStubDeployer()` serves in the calling process (tests, a benchmark that wants it close);
 * bench/reservations.bench.ts runs one per cluster in a child process (bench/fleet.ts, `stub`),
 * like the simulated fleet, so its CPU is counted apart from the coordinator's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeWithParent } from './processes';
import {
  MAX_EXTERNAL_IDS,
  SPEC_VERSION,
  manifestsOf,
  type AppliedObject,
  type ApplyResult,
  type ClusterCapacity,
  type DeployerHealth,
  type DeploymentSpec,
  type DeploymentStatus,
  type NodeCapacity,
  type PodSummary,
  type UrlReady,
} from '../src/deployer/contract';

export interface StubDeployerOptions {
  /** The cluster's name (node names start with it). Default `stub`. */
  name?: string;
  /** Default 50. */
  nodes?: number;
  /** Default 8. */
  gpusPerNode?: number;
  /** The nodes' `nvidia.com/gpu.product` label, which a cluster profile's GPU type selects. */
  gpuProduct?: string;
  /** The nodes' `topology.kubernetes.io/zone`. Default `stub-a`. */
  zone?: string;
  /** Namespaces it says it serves (GET /health). Default `gpu-dev`. */
  namespaces?: string[];
  /** Bearer token required on /api/v1 (none: open). */
  token?: string;
  /** A scheduled pod turns ready this long after its apply. Default 0: at once. */
  readyDelayMs?: number;
  /** Every /api/v1 answer waits this long first (a slow cluster). Default 0. */
  latencyMs?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** The clock (ms): tests step it. Default Date.now. */
  now?: () => number;
}

/** What it counted since it started (GET /_stub/stats answers the same). */
export interface StubDeployerStats {
  requests: number;
  applies: number;
  deletes: number;
  /** GET /deployments calls, and the deployments they answered in all. */
  lists: number;
  listed: number;
  /** Pods that found no node with their GPUs free (an overbooked node, a wrong pin). */
  unschedulable: number;
  deployments: number;
}

export interface StubDeployer {
  /** http://host:port (the deployer URL a cluster registers with). */
  url: string;
  name: string;
  stats: StubDeployerStats;
  close(): Promise<void>;
}

const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const NODE_PORTS = { first: 30000, last: 32767 };

interface StubNode {
  name: string;
  labels: Record<string, string>;
  hostIp: string;
  allocatable: number;
  /** GPUs of the pods scheduled on it. */
  requested: number;
}

interface StubDeployment {
  externalId: string;
  /** The objects as last applied, by `Kind/namespace/name`, with their JSON (to tell configured from unchanged). */
  objects: Map<string, { kind: string; name: string; namespace: string; json: string }>;
  appliedAt: number;
  /** It has a Deployment or a Pod (without one, Kubernetes has nothing running: `exists` is false). */
  workload: boolean;
  gpus: number;
  /** Nodes it may run on: its pin, else every node its selector matches. */
  candidates: StubNode[];
  /** Where its pod runs, once scheduled. */
  node?: StubNode;
  podName: string;
  nodePort?: number;
  jupyterHost?: string;
}

/** A request's failure, answered as the deployer's ErrorResponse (code, message, requestId). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The pod template's spec of a Deployment, or a bare Pod's spec. */
function podSpecOf(spec: DeploymentSpec): Json {
  if (spec.deployment) {
    return asObject(asObject(asObject(spec.deployment.spec).template).spec);
  }
  return asObject(spec.pod?.spec);
}

/** GPUs its containers ask for (resources named `<vendor>/gpu`), as the deployer counts them. */
function gpusOf(podSpec: Json): number {
  return asArray(podSpec.containers).reduce<number>((sum, container) => {
    const resources = asObject(asObject(container).resources);
    const amounts = { ...asObject(resources.limits), ...asObject(resources.requests) };
    return (
      sum +
      Object.entries(amounts)
        .filter(([name]) => name.endsWith('/gpu'))
        .reduce((n, [, value]) => n + Number(value), 0)
    );
  }, 0);
}

/** Node names a required node affinity pins it to (`matchFields metadata.name In`), if any. */
function pinnedNodes(podSpec: Json): string[] | undefined {
  const required = asObject(
    asObject(asObject(podSpec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution,
  );
  const names = asArray(required.nodeSelectorTerms).flatMap((term) =>
    asArray(asObject(term).matchFields)
      .map(asObject)
      .filter((field) => field.key === 'metadata.name' && field.operator === 'In')
      .flatMap((field) => asArray(field.values).map(String)),
  );
  return names.length > 0 ? names : undefined;
}

function nodePortService(spec: DeploymentSpec): boolean {
  return asObject(spec.service?.spec).type === 'NodePort';
}

function ingressHost(spec: DeploymentSpec): string | undefined {
  const rules = asArray(asObject(spec.ingress?.spec).rules).map(asObject);
  const host = rules.find((rule) => typeof rule.host === 'string')?.host;
  return typeof host === 'string' ? host : undefined;
}

export async function startStubDeployer(options: StubDeployerOptions = {}): Promise<StubDeployer> {
  const name = options.name ?? 'stub';
  const now = options.now ?? Date.now;
  const readyDelayMs = options.readyDelayMs ?? 0;
  const latencyMs = options.latencyMs ?? 0;
  const namespaces = options.namespaces ?? ['gpu-dev'];
  const authorization = options.token ? `Bearer ${options.token}` : undefined;
  const started = now();
  const nodes: StubNode[] = Array.from({ length: options.nodes ?? 50 }, (_, i) => {
    const nodeName = `${name}-gpu-${String(i).padStart(4, '0')}`;
    return {
      name: nodeName,
      labels: {
        [HOSTNAME_LABEL]: nodeName,
        [ZONE_LABEL]: options.zone ?? 'stub-a',
        ...(options.gpuProduct ? { [GPU_PRODUCT_LABEL]: options.gpuProduct } : {}),
      },
      hostIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      allocatable: options.gpusPerNode ?? 8,
      requested: 0,
    };
  });
  const nodesByName = new Map(nodes.map((node) => [node.name, node]));
  const deployments = new Map<string, StubDeployment>();
  const usedPorts = new Set<number>();
  let nextPort = NODE_PORTS.first;
  let generation = 0;
  const stats: StubDeployerStats = {
    requests: 0,
    applies: 0,
    deletes: 0,
    lists: 0,
    listed: 0,
    unschedulable: 0,
    deployments: 0,
  };

  const allocatePort = (): number => {
    const size = NODE_PORTS.last - NODE_PORTS.first + 1;
    for (let tries = 0; tries < size; tries += 1) {
      const port = nextPort;
      nextPort = port === NODE_PORTS.last ? NODE_PORTS.first : port + 1;
      if (!usedPorts.has(port)) {
        usedPorts.add(port);
        return port;
      }
    }
    // What the API server says, which the deployer answers as Kubernetes being unavailable.
    throw new Refusal(
      502,
      'kube_unavailable',
      'Kubernetes: Internal error occurred: failed to allocate a nodePort: range is full',
    );
  };

  /** Onto its pinned (or first matching) node with its GPUs free; false while none has. */
  const schedule = (deployment: StubDeployment): boolean => {
    if (deployment.node) {
      return true;
    }
    const node = deployment.candidates.find((n) => n.allocatable - n.requested >= deployment.gpus);
    if (!node) {
      return false;
    }
    node.requested += deployment.gpus;
    deployment.node = node;
    return true;
  };

  const remove = (deployment: StubDeployment) => {
    if (deployment.node) {
      deployment.node.requested -= deployment.gpus;
    }
    if (deployment.nodePort !== undefined) {
      usedPorts.delete(deployment.nodePort);
    }
    deployments.delete(deployment.externalId);
  };

  const apply = (body: unknown): { created: boolean; result: ApplyResult } => {
    const spec = body as DeploymentSpec;
    const externalId = asObject(asObject(body).metadata).external_id;
    if (typeof externalId !== 'string' || externalId === '') {
      throw new Refusal(400, 'invalid_spec', 'metadata.external_id is required');
    }
    if (spec.metadata.spec_version !== SPEC_VERSION) {
      throw new Refusal(400, 'invalid_spec', `spec_version ${spec.metadata.spec_version} is not supported`);
    }
    stats.applies += 1;
    const before = deployments.get(externalId);
    const objects = new Map<string, { kind: string; name: string; namespace: string; json: string }>();
    const applied: AppliedObject[] = [];
    for (const { manifest } of manifestsOf(spec)) {
      const namespace = manifest.metadata.namespace ?? namespaces[0]!;
      const key = `${manifest.kind}/${namespace}/${manifest.metadata.name}`;
      const json = JSON.stringify(manifest);
      const earlier = before?.objects.get(key);
      objects.set(key, { kind: manifest.kind, name: manifest.metadata.name, namespace, json });
      applied.push({
        kind: manifest.kind,
        name: manifest.metadata.name,
        namespace,
        action: !earlier ? 'created' : earlier.json === json ? 'unchanged' : 'configured',
      });
    }
    for (const [key, earlier] of before?.objects ?? []) {
      if (!objects.has(key)) {
        applied.push({
          kind: earlier.kind,
          name: earlier.name,
          namespace: earlier.namespace,
          action: 'pruned',
        });
      }
    }
    const podSpec = podSpecOf(spec);
    const pins = pinnedNodes(podSpec);
    const selector = Object.entries(asObject(podSpec.nodeSelector));
    const candidates = (pins ? pins.flatMap((pin) => nodesByName.get(pin) ?? []) : nodes).filter((node) =>
      selector.every(([label, value]) => node.labels[label] === value),
    );
    const gpus = gpusOf(podSpec);
    const workload = Boolean(spec.deployment ?? spec.pod);
    const wantsPort = nodePortService(spec);
    if (before) {
      // The pod stays where it runs unless what it asks for changed (a new pod then starts).
      const same =
        workload && before.gpus === gpus && before.node !== undefined && candidates.includes(before.node);
      before.objects = objects;
      before.jupyterHost = ingressHost(spec);
      if (!same) {
        if (before.node) {
          before.node.requested -= before.gpus;
          before.node = undefined;
        }
        before.workload = workload;
        before.gpus = gpus;
        before.candidates = candidates;
        before.appliedAt = now();
        before.podName = `${externalId}-${(generation += 1).toString(36)}`;
      }
      if (wantsPort && before.nodePort === undefined) {
        before.nodePort = allocatePort();
      } else if (!wantsPort && before.nodePort !== undefined) {
        usedPorts.delete(before.nodePort);
        before.nodePort = undefined;
      }
    } else {
      const deployment: StubDeployment = {
        externalId,
        objects,
        appliedAt: now(),
        workload,
        gpus,
        candidates,
        podName: `${externalId}-${(generation += 1).toString(36)}`,
        ...(wantsPort ? { nodePort: allocatePort() } : {}),
        jupyterHost: ingressHost(spec),
      };
      deployments.set(externalId, deployment);
      stats.deployments += 1;
    }
    const deployment = deployments.get(externalId)!;
    if (deployment.workload && !schedule(deployment)) {
      stats.unschedulable += 1;
    }
    return {
      created: applied.some((object) => object.action === 'created'),
      result: { external_id: externalId, objects: applied },
    };
  };

  const statusOf = (externalId: string): DeploymentStatus => {
    const deployment = deployments.get(externalId);
    if (!deployment?.workload) {
      return { external_id: externalId, exists: false, ready_replicas: 0, pods: [], warnings: [] };
    }
    // A pending pod is scheduled as soon as GPUs free up, as the scheduler would retry it.
    const scheduled = schedule(deployment);
    const ready = scheduled && now() - deployment.appliedAt >= readyDelayMs;
    const pod: PodSummary = {
      name: deployment.podName,
      phase: ready ? 'Running' : 'Pending',
      ready,
      ...(deployment.node ? { node: deployment.node.name } : {}),
      restarts: 0,
      ...(scheduled
        ? {}
        : {
            scheduling_message: `0/${nodes.length} nodes are available: ${deployment.candidates.length === 0 ? 'no node matches the pod’s node affinity/selector' : 'Insufficient GPUs'}.`,
          }),
    };
    return {
      external_id: externalId,
      exists: true,
      ready_replicas: ready ? 1 : 0,
      pods: [pod],
      warnings: [],
      ...(deployment.nodePort !== undefined
        ? {
            ssh: {
              node_port: deployment.nodePort,
              ...(deployment.node ? { host_ip: deployment.node.hostIp, node: deployment.node.name } : {}),
            },
          }
        : {}),
      ...(deployment.jupyterHost ? { jupyter_host: deployment.jupyterHost } : {}),
    };
  };

  const capacity = (): ClusterCapacity => {
    const report: NodeCapacity[] = nodes.map((node) => ({
      name: node.name,
      ...(node.labels[GPU_PRODUCT_LABEL] ? { gpu_type: node.labels[GPU_PRODUCT_LABEL] } : {}),
      labels: node.labels,
      allocatable_gpus: node.allocatable,
      requested_gpus: node.requested,
      managed_gpus: node.requested,
      ready: true,
      schedulable: true,
    }));
    const totals = new Map<string, ClusterCapacity['totals'][number]>();
    for (const node of report.filter((n) => n.gpu_type)) {
      const total = totals.get(node.gpu_type!) ?? {
        gpu_type: node.gpu_type!,
        nodes: 0,
        allocatable_gpus: 0,
        requested_gpus: 0,
        free_gpus: 0,
      };
      total.nodes += 1;
      total.allocatable_gpus += node.allocatable_gpus;
      total.requested_gpus += node.requested_gpus;
      total.free_gpus += Math.max(0, node.allocatable_gpus - node.requested_gpus);
      totals.set(node.gpu_type!, total);
    }
    return { nodes: report, totals: [...totals.values()] };
  };

  const externalIdOf = (segment: string): string => {
    const id = decodeURIComponent(segment);
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(id)) {
      throw new Refusal(400, 'validation_failed', `${JSON.stringify(id)} is not a DNS label`);
    }
    return id;
  };

  /** The answer to one request: status and JSON body (undefined: none). */
  const route = (method: string, url: URL, body: unknown): { status: number; body?: unknown } => {
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const parts = path.split('/').filter(Boolean);
    if (method === 'GET' && path === '/health') {
      const health: DeployerHealth = {
        status: 'ok',
        kubernetes: { reachable: true, version: 'v1.31.0-stub' },
        namespaces,
        uptime_seconds: Math.round((now() - started) / 1000),
      };
      return { status: 200, body: health };
    }
    if (method === 'GET' && path === '/capacity') {
      return { status: 200, body: capacity() };
    }
    if (parts[0] === 'deployments') {
      if (parts.length === 1 && method === 'POST') {
        const { created, result } = apply(body);
        return { status: created ? 201 : 200, body: result };
      }
      if (parts.length === 1 && method === 'GET') {
        const only = url.searchParams.get('external_id');
        const ids = only === null ? [...deployments.keys()].sort() : only.split(',');
        if (only !== null && (ids.length > MAX_EXTERNAL_IDS || ids.some((id) => id === ''))) {
          throw new Refusal(400, 'validation_failed', `external_id: 1 to ${MAX_EXTERNAL_IDS} external ids`);
        }
        // As the deployer: only those that exist, in external id order.
        const statuses = [...new Set(ids)]
          .filter((id) => deployments.has(id))
          .sort()
          .map(statusOf);
        stats.lists += 1;
        stats.listed += statuses.length;
        return { status: 200, body: statuses };
      }
      if (parts.length === 2 && method === 'DELETE') {
        const deployment = deployments.get(externalIdOf(parts[1]!));
        stats.deletes += 1;
        if (deployment) {
          remove(deployment);
        }
        return { status: 204 };
      }
      if (parts.length === 3 && method === 'GET' && parts[2] === 'status') {
        return { status: 200, body: statusOf(externalIdOf(parts[1]!)) };
      }
      if (parts.length === 3 && method === 'GET' && parts[2] === 'url-ready') {
        const status = statusOf(externalIdOf(parts[1]!));
        const workload = status.pods.some((pod) => pod.ready);
        const service = status.ssh !== undefined;
        const answer: UrlReady = {
          ready: workload && service,
          checks: { workload, service, ingress: status.jupyter_host !== undefined },
        };
        return { status: 200, body: answer };
      }
    }
    if (method === 'GET' && (path === '/volumes' || path === '/snapshots')) {
      return { status: 200, body: [] };
    }
    if (
      parts[0] === 'volumes' ||
      parts[0] === 'snapshots' ||
      parts[2] === 'logs' ||
      parts[2] === 'file-transfers'
    ) {
      throw new Refusal(501, 'not_implemented', `The stub deployer does not serve ${method} ${path}`);
    }
    throw new Refusal(404, 'not_found', `Cannot ${method} ${url.pathname}`);
  };

  const answer = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    stats.requests += 1;
    const url = new URL(req.url ?? '/', 'http://stub');
    const requestId = `stub-${stats.requests}`;
    try {
      if (url.pathname === '/_stub/stats') {
        answer(res, 200, stats);
        return;
      }
      if (!url.pathname.startsWith('/api/v1/')) {
        throw new Refusal(404, 'not_found', `Cannot ${req.method} ${url.pathname}`);
      }
      if (authorization && req.headers.authorization !== authorization) {
        throw new Refusal(401, 'unauthorized', 'A valid bearer token is required');
      }
      let body: unknown;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          throw new Refusal(400, 'validation_failed', 'The body is not JSON');
        }
      }
      const { status, body: out } = route(req.method ?? 'GET', url, body);
      if (latencyMs > 0) {
        setTimeout(() => answer(res, status, out), latencyMs);
      } else {
        answer(res, status, out);
      }
    } catch (error) {
      const refusal =
        error instanceof Refusal
          ? error
          : new Refusal(500, 'internal_error', `stub deployer: ${String(error)}`);
      answer(res, refusal.status, { code: refusal.code, message: refusal.message, requestId });
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  // Above the coordinator's client keep-alive (4 s), as the real deployer's is.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    name,
    stats,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * As a child process of a benchmark (bench/processes.ts, bench/fleet.ts): its options as one JSON
 * argument; prints `{"deployer": url}` once it serves. Apart from the process being measured, so
 * the stub's CPU is counted on its own and never delays the control plane's event loop.
 */
if (require.main === module) {
  startStubDeployer(JSON.parse(process.argv[2] ?? '{}') as StubDeployerOptions)
    .then((stub) => {
      closeWithParent(() => stub.close());
      process.stdout.write(`${JSON.stringify({ deployer: stub.url })}\n`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
