import { ApiException } from '@kubernetes/client-node';
import { toKubeError } from './kube-client';

function forbidden(message: string): ApiException<string> {
  const body = JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message });
  return new ApiException(403, message, body, {});
}

describe('a 403 from Kubernetes', () => {
  it('is the deployer’s credentials when RBAC refused', () => {
    const error = toKubeError(
      forbidden(
        'services is forbidden: User "system:serviceaccount:odc:deployer" cannot create resource "services" in API group "" in the namespace "gpu-dev"',
      ),
    );
    expect(error.kind).toBe('forbidden');
  });

  it('is a conflict when a ResourceQuota refused (the cluster cannot take it now, another may)', () => {
    const error = toKubeError(
      forbidden(
        'services "x" is forbidden: exceeded quota: q, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0',
      ),
    );
    expect(error).toMatchObject({ kind: 'conflict', status: 403 });
  });

  it('is the object’s fault when Pod Security refused it', () => {
    const error = toKubeError(
      forbidden(
        'pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
      ),
    );
    expect(error.kind).toBe('invalid');
  });
});

describe('a Kubernetes that cannot be reached', () => {
  it('says why, from the causes fetch keeps to itself', () => {
    const tls = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    const error = toKubeError(new TypeError('fetch failed', { cause: tls }));
    expect(error).toMatchObject({ kind: 'unavailable', status: 503 });
    expect(error.message).toBe(
      'Kubernetes is unreachable: fetch failed: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    );
  });
});
