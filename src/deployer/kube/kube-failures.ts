import { AppError, CommonErrorCode, type ErrorCode } from '../../infra/errors/app-error';
import type { AppliedObject, Manifest } from '../contract';
import { DeployerErrorCode } from '../deployer.errors';
import { KubeError, type KubeErrorKind } from './kube-client';

/**
 * What the caller should make of a Kubernetes failure: Kubernetes refused what was asked (an
 * invalid object, a namespace or kind the cluster lacks, a Pod Security level it breaks: change the
 * request, 422); it conflicts with the cluster's state (an object that exists, a ResourceQuota it
 * would exceed: 409); the deployer's credentials may not do it (an operator's problem, 502
 * kube_forbidden); the cluster cannot be reached or failed (502 kube_unavailable, retry).
 */
const CODE_BY_KIND: Record<KubeErrorKind, ErrorCode> = {
  bad_request: DeployerErrorCode.KubeRejected,
  invalid: DeployerErrorCode.KubeRejected,
  not_found: DeployerErrorCode.KubeRejected,
  conflict: CommonErrorCode.Conflict,
  unauthorized: DeployerErrorCode.KubeForbidden,
  forbidden: DeployerErrorCode.KubeForbidden,
  unavailable: DeployerErrorCode.KubeUnavailable,
};

/** A Kubernetes failure on a read, a list or a delete, reported with its code and reason. */
export async function reportKubeFailures<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof KubeError) {
      throw new AppError(CODE_BY_KIND[error.kind], `Kubernetes: ${error.message}`, { causes: error.causes });
    }
    throw error;
  }
}

/**
 * An apply that failed, with the code above; the answer names the object and what was applied
 * before it (a retry completes the rest).
 */
export function applyFailure(
  field: string,
  manifest: Manifest,
  error: unknown,
  applied: AppliedObject[] = [],
): AppError {
  const kubeError = error instanceof KubeError ? error : undefined;
  return new AppError(
    kubeError ? CODE_BY_KIND[kubeError.kind] : DeployerErrorCode.KubeUnavailable,
    `Applying ${field} (${manifest.kind} ${manifest.metadata.name}) failed: ${error instanceof Error ? error.message : String(error)}`,
    {
      failed_object: { field, kind: manifest.kind, name: manifest.metadata.name },
      applied,
      causes: kubeError?.causes ?? [],
    },
  );
}
