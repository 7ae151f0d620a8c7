import { kubeConfigForServer } from '../../src/deployer/kube/kube-access';
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  VersionApi,
  Watch,
  type ApiException,
} from '@kubernetes/client-node';

/** The real client, configured for a simulated API server. */
export function kubeClients(server: string) {
  const kc = kubeConfigForServer(server);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
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
