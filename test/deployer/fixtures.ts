import request from 'supertest';
import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import type { SimulatedCluster } from '../../src/simulator/cluster';
import type { SimulatorConfig } from '../../src/simulator/config';
import { startTestApp, type TestApp } from '../support/app';
import {
  FAST_TIMINGS,
  h100Pool,
  startKubeTarget,
  uniqueName,
  type KubeClients,
  type KubeTarget,
} from '../support/simulator';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';

/** The deployer's namespace: `gpu-dev` on a simulator of the spec's own, unique per spec file on the real API server. */
export const NAMESPACE = uniqueName('gpu-dev');

export function kubeconfigBase64(server: string): string {
  return Buffer.from(kubeConfigForServer(server).exportConfig()).toString('base64');
}

/** The GPU product of the test clusters' H100 nodes (a pool of `h100Pool`, the real tier's `h100` pool). */
export const H100_PRODUCT = 'NVIDIA-H100-80GB-HBM3';

/**
 * A reservation's objects in the test namespace. Its pod asks for H100 nodes by product, as the
 * coordinator's manifests name the GPU type: the real tier's fleet has A100 nodes too, where the
 * scheduler would otherwise be free to put it.
 */
export function reservationSpec(externalId: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const spec = sampleReservationSpec(externalId, NAMESPACE);
  const pod = (spec.deployment!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  pod.nodeSelector = { 'nvidia.com/gpu.product': H100_PRODUCT };
  return { ...spec, ...overrides };
}

export const DEPLOYER_TOKEN = 'test-deployer-token-0123456789';

/**
 * A deployer (bearer token DEPLOYER_TOKEN) with the test namespace, on a simulated cluster of its
 * own or (ODC_TEST_KUBE=real) the real API server.
 */
export interface DeployerUnderTest {
  target: KubeTarget;
  /** The simulated cluster (throws on the real API server: such specs are itSimulatorOnly). */
  readonly cluster: SimulatedCluster;
  app: TestApp;
  /** The real client, straight to the cluster as its administrator (to see what the deployer did). */
  k: KubeClients;
  api(): ReturnType<typeof request>;
  authed(req: request.Test): request.Test;
  close(): Promise<void>;
}

export async function startDeployer(
  options: { cluster?: Partial<SimulatorConfig>; env?: Record<string, string> } = {},
): Promise<DeployerUnderTest> {
  const target = await startKubeTarget(
    { nodePools: [h100Pool(2)], timings: FAST_TIMINGS, ...options.cluster },
    [NAMESPACE],
  );
  const app = await startTestApp({
    roles: 'deployer',
    env: {
      ODC_KUBECONFIG_BASE64: target.kubeconfigBase64,
      ODC_DEPLOYER_NAMESPACES: NAMESPACE,
      ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      ...options.env,
    },
  }).catch(async (error: unknown) => {
    await target.close();
    throw error;
  });
  return {
    target,
    get cluster() {
      return target.simulated;
    },
    app,
    k: target.k,
    api: () => request(app.runtime.deployer!.getHttpServer()),
    authed: (req) => req.set('authorization', `Bearer ${DEPLOYER_TOKEN}`),
    close: async () => {
      await app.close();
      await target.close();
    },
  };
}

/**
 * Registers this deployer's cluster with a platform through the admin API, its profile mapping
 * one GPU type (8 per node) to nodes of `product`.
 */
export async function registerDeployer(
  platform: TestApp,
  adminKey: string,
  deployer: DeployerUnderTest,
  cluster: { name: string; gpuType: string; product: string; sshHost?: string; nodePorts?: number },
): Promise<void> {
  await platform
    .http()
    .post('/api/v1/clusters')
    .set('authorization', `Bearer ${adminKey}`)
    .send({
      name: cluster.name,
      deployer_url: deployer.app.runtime.listeners.find((l) => l.name === 'deployer')!.url,
      token: DEPLOYER_TOKEN,
      profile: {
        namespace: NAMESPACE,
        ...(cluster.sshHost ? { ssh_host: cluster.sshHost } : {}),
        ...(cluster.nodePorts !== undefined ? { node_ports: cluster.nodePorts } : {}),
        gpu_types: [
          {
            name: cluster.gpuType,
            node_selector: { 'nvidia.com/gpu.product': cluster.product },
            gpus_per_node: 8,
          },
        ],
      },
    })
    .expect(201);
}
