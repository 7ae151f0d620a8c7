/**
 * The simulated cluster at scale: 100 nodes × 8 GPUs; create 5,000 one-GPU pods over loopback HTTP
 * (800 get scheduled, the rest wait as unschedulable, as on a full cluster), list them by label,
 * delete them. Baseline, same client and concurrency: a bare node:http server that parses each pod
 * and keeps it in a Map, i.e. the cost of HTTP and JSON alone.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { SimulatedCluster } from '../src/simulator/cluster';
import { withDefaults } from '../src/simulator/config';
import { fmt, report, runConcurrently } from './support';

const NODES = 100;
const GPUS_PER_NODE = 8;
const PODS = 5000;
const CONCURRENCY = 32;

const podBody = (i: number) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${i}`, labels: { bench: 'yes', shard: String(i % 10) } },
    spec: {
      containers: [{ name: 'main', image: 'pytorch:2', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
    },
  });

function assertSuccess(status: number, i: number): void {
  if (status >= 300) {
    throw new Error(`request ${i} answered ${status}`);
  }
}

async function createAll(origin: string, path: string): Promise<{ perSecond: number; p99: number }> {
  const pool = new Pool(origin, { connections: CONCURRENCY });
  try {
    return await runConcurrently(PODS, CONCURRENCY, async (i) => {
      const res = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: podBody(i),
      });
      await res.body.text();
      assertSuccess(res.statusCode, i);
    });
  } finally {
    await pool.close();
  }
}

function baselineServer(): Promise<Server> {
  const pods = new Map<string, unknown>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const pod = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata: { name: string } };
      pods.set(pod.metadata.name, pod);
      const body = JSON.stringify(pod);
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function benchSimulator(): Promise<void> {
  const cluster = await SimulatedCluster.start(
    withDefaults({
      name: 'bench',
      nodePools: [
        {
          name: 'h100',
          count: NODES,
          cpu: '96',
          memory: '1024Gi',
          gpu: { product: 'NVIDIA-H100-80GB-HBM3', count: GPUS_PER_NODE },
        },
      ],
      timings: { startMs: 50, readyMs: 50, pvcBindMs: 50, snapshotReadyMs: 50, jobRunMs: 50 },
    }),
  );
  const baseline = await baselineServer();
  try {
    const base = await createAll(`http://127.0.0.1:${(baseline.address() as AddressInfo).port}`, '/pods');
    const sim = await createAll(cluster.url, '/api/v1/namespaces/default/pods');

    const pool = new Pool(cluster.url, { connections: 4 });
    const t0 = performance.now();
    const res = await pool.request({
      path: '/api/v1/namespaces/default/pods?labelSelector=bench%3Dyes,shard%20in%20(1,2)',
      method: 'GET',
    });
    const listed = ((await res.body.json()) as { items: unknown[] }).items.length;
    const listMs = performance.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the scheduler settle
    const scheduledRes = await pool.request({
      path: '/api/v1/pods?fieldSelector=spec.nodeName%3D',
      method: 'GET',
    });
    const unscheduled = ((await scheduledRes.body.json()) as { items: unknown[] }).items.length;
    await pool.close();

    const deleted = await (async () => {
      const deleter = new Pool(cluster.url, { connections: CONCURRENCY });
      try {
        return await runConcurrently(PODS, CONCURRENCY, async (i) => {
          const r = await deleter.request({
            path: `/api/v1/namespaces/default/pods/bench-${i}`,
            method: 'DELETE',
          });
          await r.body.text();
          assertSuccess(r.statusCode, i);
        });
      } finally {
        await deleter.close();
      }
    })();

    report(
      `Simulated cluster: ${NODES} nodes x ${GPUS_PER_NODE} GPUs, ${PODS} one-GPU pods, ${CONCURRENCY} concurrent`,
      [
        {
          step: 'baseline create (node:http + Map)',
          'ops/s': fmt(base.perSecond, 0),
          'p99 ms': fmt(base.p99, 2),
        },
        {
          step: 'simulator create (validate, store, schedule)',
          'ops/s': fmt(sim.perSecond, 0),
          'p99 ms': fmt(sim.p99, 2),
        },
        { step: 'simulator delete', 'ops/s': fmt(deleted.perSecond, 0), 'p99 ms': fmt(deleted.p99, 2) },
        {
          step: `list by label (${listed} of ${PODS}): one call, ms`,
          'ops/s': '-',
          'p99 ms': fmt(listMs, 2),
        },
      ],
    );
    console.log(
      `scheduled: ${PODS - unscheduled} (capacity ${NODES * GPUS_PER_NODE}); unschedulable: ${unscheduled}`,
    );
    console.log(
      `ratio simulator/baseline creates: ${fmt(sim.perSecond / base.perSecond, 2)}; target >= 1000 creates/s: ${sim.perSecond >= 1000 ? 'met' : 'NOT met'}`,
    );
  } finally {
    baseline.close();
    await cluster.close();
  }
}
