import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
  Watch,
  type ApiException,
} from '@kubernetes/client-node';

/** A kubeconfig for a simulated API server that sends a bearer token (a service account's, say). */
export function kubeConfigWithToken(server: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'cluster', server, skipTLSVerify: server.startsWith('http://') }],
    users: [{ name: 'token', token }],
    contexts: [{ name: 'token', cluster: 'cluster', user: 'token' }],
    currentContext: 'token',
  });
  return kc;
}

/**
 * The real client, configured for a simulated API server: without a token as its anonymous
 * admin, with one as the service account it belongs to (held to RBAC).
 */
export function kubeClients(server: string, token?: string) {
  return kubeClientsOf(
    token === undefined ? kubeConfigForServer(server) : kubeConfigWithToken(server, token),
  );
}

/** The admin (or a token's) clients of a kubeconfig: a simulator's or the real tier's. */
export function kubeClientsOf(kc: KubeConfig) {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    version: kc.makeApiClient(VersionApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
    watch: new Watch(kc),
  };
}

/** The Status a failed call carried, parsed. */
export async function statusOf(call: Promise<unknown>): Promise<{
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field: string; reason: string; message: string }[] };
}> {
  try {
    await call;
  } catch (error) {
    const body = (error as ApiException<unknown>).body;
    return (typeof body === 'string' ? JSON.parse(body) : body) as never;
  }
  throw new Error('expected the call to fail');
}
