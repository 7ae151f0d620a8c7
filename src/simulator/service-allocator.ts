/**
 * What Kubernetes' Service registry allocates: a node port (30000–32767, unique in the cluster) for
 * every port of a NodePort or LoadBalancer Service that has none, and a cluster IP (10.96.0.0/16)
 * for every Service but headless and ExternalName ones. Allocated values stay across updates and
 * applies of the same Service; explicit ones are checked (taken or out of range: 422 Invalid); a
 * Service that is deleted frees them. The books follow the store's events, so every path that
 * writes or deletes (a DELETE, a namespace going, the garbage collector) keeps them right, and a
 * dry run (which stores nothing) allocates nothing.
 */
import { invalid, StatusError, type StatusCause } from './status';
import type { K8sObject, ObjectStore, StoreEvent } from './store';

export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
export const SERVICE_CIDR = '10.96.0.0/16';

const CIDR_BASE = ipToNumber('10.96.0.0')!;
const CIDR_SIZE = 1 << 16;
/** Network and broadcast addresses, and 10.96.0.1 (`default/kubernetes` on a real cluster). */
const FIRST_DYNAMIC_IP = CIDR_BASE + 2;
const LAST_IP = CIDR_BASE + CIDR_SIZE - 2;

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  allocateLoadBalancerNodePorts?: boolean;
}

function specOf(service: K8sObject | undefined): ServiceSpec | undefined {
  const spec: unknown = service?.spec;
  return typeof spec === 'object' && spec !== null ? spec : undefined;
}

function portsOf(spec: ServiceSpec | undefined): ServicePort[] {
  return Array.isArray(spec?.ports)
    ? spec.ports.filter((p): p is ServicePort => typeof p === 'object' && p !== null)
    : [];
}

function needsNodePorts(spec: ServiceSpec | undefined): boolean {
  return (
    spec?.type === 'NodePort' ||
    (spec?.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false)
  );
}

function needsClusterIP(spec: ServiceSpec | undefined): boolean {
  return spec !== undefined && spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
}

function nodePortsOf(spec: ServiceSpec | undefined): number[] {
  return portsOf(spec)
    .map((p) => p.nodePort)
    .filter((n): n is number => typeof n === 'number' && n !== 0);
}

function clusterIPOf(spec: ServiceSpec | undefined): number | undefined {
  return spec?.clusterIP ? ipToNumber(spec.clusterIP) : undefined;
}

function ipToNumber(ip: string): number | undefined {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!parts) {
    return undefined;
  }
  const octets = parts.slice(1).map(Number);
  return octets.some((o) => o > 255) ? undefined : octets.reduce((n, o) => n * 256 + o, 0);
}

/** A list of strings as Kubernetes' messages print them (Go's `%#v`). */
function goStrings(list: string[]): string {
  return `[]string{${list.map((item) => JSON.stringify(item)).join(', ')}}`;
}

function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const keyOf = (service: K8sObject) => `${service.metadata.namespace ?? ''}/${service.metadata.name}`;

export class ServiceAllocator {
  /** Node port → the Service (namespace/name) that holds it. */
  private readonly nodePorts = new Map<number, string>();
  /** Cluster IP (as a number) → the Service that holds it. */
  private readonly clusterIPs = new Map<number, string>();
  private readonly unsubscribe: () => void;

  constructor(store: ObjectStore) {
    this.unsubscribe = store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.unsubscribe();
  }

  /**
   * Fills in (or checks) the node ports and cluster IP of the next version of a Service, as the
   * registry does before storing it: values the current version has are kept when the next one
   * leaves them out (a merge patch or an apply without them), by port name as Kubernetes matches
   * them. Throws 422 Invalid for a taken or out-of-range port or address.
   */
  assign(next: K8sObject, current: K8sObject | undefined): void {
    const spec = specOf(next);
    if (!spec) {
      return;
    }
    const key = keyOf(next);
    const before = specOf(current);
    const causes = [...this.assignClusterIP(spec, before, key), ...this.assignNodePorts(spec, before, key)];
    if (causes.length > 0) {
      throw invalid('Service', next.metadata.name, causes);
    }
  }

  private assignClusterIP(spec: ServiceSpec, before: ServiceSpec | undefined, key: string): StatusCause[] {
    const field = 'spec.clusterIPs';
    const cause = (message: string, at = `${field}[0]`): StatusCause[] => [
      { reason: 'FieldValueInvalid', message, field: at },
    ];
    const had = before?.type === 'ExternalName' ? undefined : before?.clusterIP;
    if (spec.type === 'ExternalName') {
      // A Service turned ExternalName drops the address it had.
      if (had && spec.clusterIP === had) {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
      return [];
    }
    if (!spec.clusterIP && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === 'string') {
      spec.clusterIP = spec.clusterIPs[0];
    }
    spec.clusterIP ||= had; // kept across an update that leaves it out
    const given = spec.clusterIP;
    if (given && had && given !== had) {
      return cause(`Invalid value: ${goStrings([given])}: may not change once set`);
    }
    if (
      given &&
      Array.isArray(spec.clusterIPs) &&
      spec.clusterIPs.length > 0 &&
      spec.clusterIPs[0] !== given
    ) {
      return cause(
        `Invalid value: ${goStrings(spec.clusterIPs)}: must match clusterIP when both are specified`,
      );
    }
    if (given === 'None') {
      spec.clusterIPs = ['None'];
      return [];
    }
    if (given) {
      const ip = ipToNumber(given);
      if (ip === undefined) {
        return cause(`Invalid value: ${JSON.stringify(given)}: must be a valid IP address`);
      }
      const failure = `Invalid value: ${goStrings([given])}: failed to allocate IP ${given}`;
      if (ip <= CIDR_BASE || ip > LAST_IP) {
        return cause(
          `${failure}: the provided IP (${given}) is not in the valid range. The range of valid IPs is ${SERVICE_CIDR}`,
          field,
        );
      }
      const holder = this.clusterIPs.get(ip);
      if (holder !== undefined && holder !== key) {
        return cause(`${failure}: provided IP is already allocated`, field);
      }
      spec.clusterIPs = [given];
    } else {
      const allocated = numberToIp(this.freeClusterIP());
      spec.clusterIP = allocated;
      spec.clusterIPs = [allocated];
    }
    return [];
  }

  private assignNodePorts(spec: ServiceSpec, before: ServiceSpec | undefined, key: string): StatusCause[] {
    const ports = portsOf(spec);
    if (!needsNodePorts(spec)) {
      // A type that has no node ports drops those it kept from before (Kubernetes does the same);
      // one given anew is refused below, unless a LoadBalancer opted out of allocation.
      const held = new Set(nodePortsOf(before));
      for (const port of ports) {
        if (port.nodePort !== undefined && held.has(port.nodePort)) {
          delete port.nodePort;
        }
      }
      if (spec.type === 'LoadBalancer') {
        return this.checkExplicit(ports, key);
      }
      return ports.flatMap((port, index) =>
        port.nodePort === undefined || port.nodePort === 0
          ? []
          : [
              {
                reason: 'FieldValueForbidden',
                message: `Forbidden: may not be used when \`type\` is '${spec.type ?? 'ClusterIP'}'`,
                field: `spec.ports[${index}].nodePort`,
              },
            ],
      );
    }
    if (needsNodePorts(before)) {
      // Kept across an update that leaves them out, matched by port name, unless used anew.
      const used = new Set(nodePortsOf(spec));
      const byName = new Map(portsOf(before).map((p) => [p.name ?? '', p.nodePort]));
      for (const port of ports) {
        const kept = byName.get(port.name ?? '');
        if (!port.nodePort && kept && !used.has(kept)) {
          port.nodePort = kept;
          used.add(kept);
        }
      }
    }
    const causes = this.checkExplicit(ports, key);
    if (causes.length > 0) {
      return causes;
    }
    const taken = new Set(nodePortsOf(spec));
    for (const port of ports) {
      if (!port.nodePort) {
        port.nodePort = this.freeNodePort(taken);
        taken.add(port.nodePort);
      }
    }
    return [];
  }

  /** Explicit node ports: in range, not another Service's, not twice for one protocol. */
  private checkExplicit(ports: ServicePort[], key: string): StatusCause[] {
    const causes: StatusCause[] = [];
    const seen = new Set<string>();
    ports.forEach((port, index) => {
      const nodePort = port.nodePort;
      if (nodePort === undefined || nodePort === 0) {
        return;
      }
      const field = `spec.ports[${index}].nodePort`;
      const protocol = `${nodePort}/${port.protocol ?? 'TCP'}`;
      if (seen.has(protocol)) {
        causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${nodePort}`, field });
        return;
      }
      seen.add(protocol);
      if (nodePort < NODE_PORT_RANGE.min || nodePort > NODE_PORT_RANGE.max) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${nodePort}: provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
          field,
        });
        return;
      }
      const holder = this.nodePorts.get(nodePort);
      if (holder !== undefined && holder !== key) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${nodePort}: provided port is already allocated`,
          field,
        });
      }
    });
    return causes;
  }

  /** A random free port (as Kubernetes picks them), probing upwards from a random start. */
  private freeNodePort(taken: Set<number>): number {
    const size = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i += 1) {
      const port = NODE_PORT_RANGE.min + ((start + i) % size);
      if (!this.nodePorts.has(port) && !taken.has(port)) {
        return port;
      }
    }
    throw new StatusError(
      'InternalError',
      'Internal error occurred: failed to allocate a nodePort: range is full',
    );
  }

  private freeClusterIP(): number {
    const size = LAST_IP - FIRST_DYNAMIC_IP + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i += 1) {
      const ip = FIRST_DYNAMIC_IP + ((start + i) % size);
      if (!this.clusterIPs.has(ip)) {
        return ip;
      }
    }
    throw new StatusError(
      'InternalError',
      `Internal error occurred: failed to allocate a serviceIP: range is full`,
    );
  }

  /** The books: what stored Services hold, whoever stored them. */
  private observe(event: StoreEvent): void {
    if (event.resource.kind !== 'Service') {
      return;
    }
    const key = keyOf(event.object);
    const previous = event.type === 'DELETED' ? event.object : event.previous;
    if (previous) {
      this.release(previous, key);
    }
    if (event.type !== 'DELETED') {
      const spec = specOf(event.object);
      for (const port of nodePortsOf(spec)) {
        this.nodePorts.set(port, key);
      }
      const ip = needsClusterIP(spec) ? clusterIPOf(spec) : undefined;
      if (ip !== undefined) {
        this.clusterIPs.set(ip, key);
      }
    }
  }

  private release(service: K8sObject, key: string): void {
    const spec = specOf(service);
    for (const port of nodePortsOf(spec)) {
      if (this.nodePorts.get(port) === key) {
        this.nodePorts.delete(port);
      }
    }
    const ip = clusterIPOf(spec);
    if (ip !== undefined && this.clusterIPs.get(ip) === key) {
      this.clusterIPs.delete(ip);
    }
  }
}
