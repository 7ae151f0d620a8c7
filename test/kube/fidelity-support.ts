/**
 * The two sides of the simulator-fidelity spec (docs/simulator.md, "Known differences from a real
 * API server"): the simulator and the real API server of the kube tier, each reached the way a
 * client reaches it, and the normalisation that leaves only what should be the same on both.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type https from 'node:https';
import { Agent, request, type Dispatcher } from 'undici';
import { KubeClient } from '../../src/deployer/kube/kube-client';
import { kubeClientsOf } from '../simulator/kube';
import type { KubeClients } from '../support/simulator';

export type SideName = 'simulator' | 'real';

/**
 * A JSON value as an API server sends it. The fidelity spec reads deep into many kinds' bodies;
 * typing each would say less than the comparison itself.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Answer {
  status: number;
  body: Json;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  /** A bearer token to send instead of the kubeconfig's credentials (a ServiceAccount's). */
  token?: string;
}

/** One API server as a client sees it. */
export class Side {
  readonly k: KubeClients;
  /** The deployer's own Kubernetes client: what ODC actually sends. */
  readonly deployer: KubeClient;
  private readonly server: string;
  private pool?: Dispatcher;

  constructor(
    readonly name: SideName,
    readonly kc: KubeConfig,
  ) {
    this.k = kubeClientsOf(kc);
    this.deployer = new KubeClient(kc, { qps: 1000, burst: 1000 });
    this.server = kc.getCurrentCluster()!.server.replace(/\/$/, '');
  }

  /** A raw HTTP request (status codes and bodies exactly as sent), JSON in and out. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
    const tls: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(tls);
    this.pool ??= new Agent({
      connect: {
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
      },
    });
    // A token replaces the client certificate (kube-apiserver authenticates a certificate first).
    const identity = options.token
      ? { headers: { authorization: `Bearer ${options.token}` }, pool: this.pool }
      : { headers: (tls.headers ?? {}) as Record<string, string>, pool: this.clientPool(tls) };
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const response = await request(`${this.server}${path}`, {
      method,
      dispatcher: identity.pool,
      headers: {
        ...identity.headers,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
      },
      body,
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.statusCode, body: parsed };
  }

  private clientPoolCache?: Dispatcher;

  private clientPool(tls: https.RequestOptions): Dispatcher {
    this.clientPoolCache ??= new Agent({
      connect: {
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
      },
    });
    return this.clientPoolCache;
  }

  async close(): Promise<void> {
    await this.deployer.close();
    await this.pool?.close();
    await this.clientPoolCache?.close();
  }
}

/** Polls until `check` returns a value (not undefined), or fails with what it saw last. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Keys whose values differ run to run on either side: replaced by a placeholder, kept when present. */
const VOLATILE_KEYS: Record<string, string> = {
  uid: '<uid>',
  resourceVersion: '<rv>',
  creationTimestamp: '<time>',
  deletionTimestamp: '<time>',
  time: '<time>',
  podIP: '<ip>',
  podIPs: '<ips>',
  clusterIP: '<ip>',
  clusterIPs: '<ips>',
};

/**
 * What stays once the run-to-run noise is gone: uids, resourceVersions, timestamps and allocated
 * IPs become placeholders (present or absent still counts), `replace` maps other strings (generated
 * names, node names) to stable ones.
 */
export function normalise(value: unknown, replace: (text: string) => string = (text) => text): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => normalise(item, replace));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [
        key,
        key in VOLATILE_KEYS && child !== null && child !== undefined && child !== ''
          ? VOLATILE_KEYS[key]
          : normalise(child, replace),
      ]),
    );
  }
  if (typeof value === 'string') {
    if (TIMESTAMP.test(value)) {
      return '<time>';
    }
    if (UUID.test(value)) {
      return '<uid>';
    }
    return replace(value);
  }
  return value;
}

/** Removes the value at a dotted path (`a.b.c`; `*` for every item of a list or key of a map). */
export function omit(value: unknown, path: string): void {
  const [head = '', ...rest] = path.split('.');
  if (value === null || typeof value !== 'object') {
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(record) : [head];
  for (const key of keys) {
    if (rest.length === 0) {
      delete record[key];
    } else {
      omit(record[key], rest.join('.'));
    }
  }
}

/** The value at a dotted path, or undefined. */
export function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (current, key) =>
        current !== null && typeof current === 'object'
          ? (current as Record<string, unknown>)[key]
          : undefined,
      value,
    );
}

/** A copy without the given paths (see `omit`). */
export function without<T>(value: T, ...paths: string[]): T {
  const copy = structuredClone(value);
  for (const path of paths) {
    omit(copy, path);
  }
  return copy;
}

export function kubeconfigOf(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
