/**
 * The deployer's overhead: POST /deployments with 7 objects (policy, labels, one round of reads,
 * two rounds of server-side applies) against applying the same 7 objects straight to the simulated
 * cluster with @kubernetes/client-node, in the same run, same cluster, same concurrency. Two
 * baselines: one apply after another (what a client does by default: the baseline), and
 * the deployer's own two rounds without the deployer (so its own cost shows: HTTP hop, policy,
 * reads). The client-side rate limit is lifted (it bounds calls, not overhead: 14 calls per
 * deployment at the default 100 QPS is about 7 deployments/s per cluster).
 */
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import pino from 'pino';
import { Pool } from 'undici';
import { startRuntime } from '../src/app/runtime';
import { manifestsOf, WORKLOAD_FIELDS, type DeploymentSpec, type Manifest } from '../src/deployer/contract';
import { sampleReservationSpec } from '../src/deployer/sample-spec';
import { kubeConfigForServer } from '../src/deployer/kube/kube-access';
import { loadAppConfig } from '../src/app/config';
import { SimulatedCluster } from '../src/simulator/cluster';
import { withDefaults } from '../src/simulator/config';
import { fmt, report, runConcurrently } from './support';

const DEPLOYMENTS = 150;
const CONCURRENCY = 4;
const WARM_UP = 30;
const NAMESPACE = 'gpu-dev';

/** A reservation's six objects plus a second ConfigMap: the seven objects the issue measures. */
function spec(id: string): DeploymentSpec {
  return sampleReservationSpec(id, NAMESPACE, {
    config_maps: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${id}-keys`, namespace: NAMESPACE },
        data: { authorized_keys: 'ssh-ed25519 AAAA bench' },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${id}-notice`, namespace: NAMESPACE },
        data: { notice: 'expires soon' },
      },
    ],
  });
}

export async function benchDeployer(): Promise<void> {
  const cluster = await SimulatedCluster.start(
    withDefaults({
      name: 'bench',
      nodePools: [
        { name: 'h100', count: 50, cpu: '96', memory: '1024Gi', gpu: { product: 'H100', count: 8 } },
      ],
    }),
  );
  const objects = KubernetesObjectApi.makeApiClient(kubeConfigForServer(cluster.url));
  await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const config = loadAppConfig({
    NODE_ENV: 'production',
    ODC_ROLES: 'deployer',
    ODC_DEPLOYER_PORT: '0',
    ODC_DEPLOYER_NAMESPACES: NAMESPACE,
    ODC_KUBECONFIG_BASE64: Buffer.from(kubeConfigForServer(cluster.url).exportConfig()).toString('base64'),
    ODC_LOG_LEVEL: 'warn',
    ODC_DEPLOYER_KUBE_QPS: '10000',
    ODC_DEPLOYER_KUBE_BURST: '10000',
  });
  const runtime = await startRuntime({ config, logger: pino({ level: 'warn' }) });
  const deployer = new Pool(runtime.listeners.find((l) => l.name === 'deployer')!.url, {
    connections: CONCURRENCY,
  });
  try {
    const apply = (manifest: Manifest) =>
      objects.patch(manifest, undefined, undefined, 'bench', true, PatchStrategy.ServerSideApply);
    const paths = {
      direct: async (i: number) => {
        for (const { manifest } of manifestsOf(spec(`direct-${i}`))) {
          await apply(manifest);
        }
      },
      directRounds: async (i: number) => {
        const all = manifestsOf(spec(`rounds-${i}`));
        await Promise.all(
          all.filter((m) => !WORKLOAD_FIELDS.includes(m.field)).map((m) => apply(m.manifest)),
        );
        await Promise.all(all.filter((m) => WORKLOAD_FIELDS.includes(m.field)).map((m) => apply(m.manifest)));
      },
      viaDeployer: async (i: number) => {
        const res = await deployer.request({
          path: '/api/v1/deployments',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(spec(`via-${i}`)),
        });
        await res.body.text();
        if (res.statusCode !== 201) {
          throw new Error(`deployer answered ${res.statusCode}`);
        }
      },
    };
    // Warm every path up first (JIT, discovery caches, connections), on ids the measured runs do not use.
    for (const run of Object.values(paths)) {
      await runConcurrently(WARM_UP, CONCURRENCY, (i) => run(DEPLOYMENTS + i));
    }
    const direct = await runConcurrently(DEPLOYMENTS, CONCURRENCY, paths.direct);
    const directRounds = await runConcurrently(DEPLOYMENTS, CONCURRENCY, paths.directRounds);
    const viaDeployer = await runConcurrently(DEPLOYMENTS, CONCURRENCY, paths.viaDeployer);
    report(`Deployer: ${DEPLOYMENTS} deployments of 7 objects, ${CONCURRENCY} concurrent`, [
      {
        path: 'baseline: client-node SSA straight to the cluster',
        'deployments/s': fmt(direct.perSecond, 1),
        'p50 ms': fmt(direct.p50, 1),
        'p99 ms': fmt(direct.p99, 1),
      },
      {
        path: 'baseline: client-node SSA, the deployer’s two parallel rounds',
        'deployments/s': fmt(directRounds.perSecond, 1),
        'p50 ms': fmt(directRounds.p50, 1),
        'p99 ms': fmt(directRounds.p99, 1),
      },
      {
        path: 'POST /deployments (policy, 1 round of reads, 2 rounds of SSA)',
        'deployments/s': fmt(viaDeployer.perSecond, 1),
        'p50 ms': fmt(viaDeployer.p50, 1),
        'p99 ms': fmt(viaDeployer.p99, 1),
      },
    ]);
    const latency = viaDeployer.p50 / direct.p50;
    const throughput = direct.perSecond / viaDeployer.perSecond;
    console.log(
      `overhead ratio deployer/direct (one after another): p50 latency ${fmt(latency, 2)}, throughput ${fmt(throughput, 2)}; target <= 1.3: ${Math.max(latency, throughput) <= 1.3 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `deployer/direct in the same two rounds (its own cost): p50 latency ${fmt(viaDeployer.p50 / directRounds.p50, 2)}, throughput ${fmt(directRounds.perSecond / viaDeployer.perSecond, 2)}`,
    );
  } finally {
    await deployer.close();
    await runtime.close();
    await cluster.close();
  }
}
