import request from 'supertest';
import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import { SimulatedCluster } from '../../src/simulator/cluster';
import { withDefaults, type SimulatorConfig } from '../../src/simulator/config';
import { kubeClients } from '../simulator/kube';
import { startTestApp, type TestApp } from '../support/app';
import { FAST_TIMINGS, h100Pool } from '../support/simulator';
import type { DeploymentSpec } from '../../src/deployer/contract';
import { sampleReservationSpec } from '../../src/deployer/sample-spec';

export const NAMESPACE = 'gpu-dev';

export function kubeconfigBase64(server: string): string {
  return Buffer.from(kubeConfigForServer(server).exportConfig()).toString('base64');
}

/** A reservation's objects in the test namespace. */
export function reservationSpec(externalId: string, overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return sampleReservationSpec(externalId, NAMESPACE, overrides);
}

export const DEPLOYER_TOKEN = 'test-deployer-token-0123456789';

/** A deployer (bearer token DEPLOYER_TOKEN) on its own simulated cluster with the test namespace. */
export interface DeployerUnderTest {
  cluster: SimulatedCluster;
  app: TestApp;
  /** The real client, straight to the simulated cluster (to see what the deployer did). */
  k: ReturnType<typeof kubeClients>;
  api(): ReturnType<typeof request>;
  authed(req: request.Test): request.Test;
  close(): Promise<void>;
}

export async function startDeployer(
  options: { cluster?: Partial<SimulatorConfig>; env?: Record<string, string> } = {},
): Promise<DeployerUnderTest> {
  const cluster = await SimulatedCluster.start(
    withDefaults({ nodePools: [h100Pool(2)], timings: FAST_TIMINGS, ...options.cluster }),
  );
  const k = kubeClients(cluster.url);
  await k.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const app = await startTestApp({
    roles: 'deployer',
    env: {
      ODC_KUBECONFIG_BASE64: kubeconfigBase64(cluster.url),
      ODC_DEPLOYER_NAMESPACES: NAMESPACE,
      ODC_DEPLOYER_TOKEN: DEPLOYER_TOKEN,
      ...options.env,
    },
  });
  return {
    cluster,
    app,
    k,
    api: () => request(app.runtime.deployer!.getHttpServer()),
    authed: (req) => req.set('authorization', `Bearer ${DEPLOYER_TOKEN}`),
    close: async () => {
      await app.close();
      await cluster.close();
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
  cluster: { name: string; gpuType: string; product: string; sshHost?: string },
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
