import { AppError } from '../../infra/errors/app-error';
import type { AppliedObject, Manifest } from '../contract';
import { DeployerErrorCode } from '../deployer.errors';
import { KubeError } from './kube-client';

const refusedByKubernetes = (error: KubeError) => error.kind === 'invalid' || error.kind === 'bad_request';

/**
 * A Kubernetes failure on a read or a delete: 422 when Kubernetes refused what was asked (e.g. a
 * kind this cluster does not serve), else the cluster's problem, 502; with its reason either way.
 */
export async function reportKubeFailures<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof KubeError) {
      throw new AppError(
        refusedByKubernetes(error) ? DeployerErrorCode.KubeRejected : DeployerErrorCode.KubeUnavailable,
        `Kubernetes: ${error.message}`,
        { causes: error.causes },
      );
    }
    throw error;
  }
}

/**
 * An apply that failed: 422 when Kubernetes refused the object (the caller must change it), 502
 * when it could not be reached; the answer names the object and what was applied before it.
 */
export function applyFailure(
  field: string,
  manifest: Manifest,
  error: unknown,
  applied: AppliedObject[] = [],
): AppError {
  const kubeError = error instanceof KubeError ? error : undefined;
  return new AppError(
    kubeError && refusedByKubernetes(kubeError)
      ? DeployerErrorCode.KubeRejected
      : DeployerErrorCode.KubeUnavailable,
    `Applying ${field} (${manifest.kind} ${manifest.metadata.name}) failed: ${error instanceof Error ? error.message : String(error)}`,
    {
      failed_object: { field, kind: manifest.kind, name: manifest.metadata.name },
      applied,
      causes: kubeError?.causes ?? [],
    },
  );
}
