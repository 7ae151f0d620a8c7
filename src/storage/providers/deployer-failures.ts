import {
  DeployerAuthFailed,
  DeployerFull,
  DeployerPolicyRejected,
  DeployerRequestRejected,
  DeployerServerError,
} from '../../clusters/public';
import { DeployerErrorCode } from '../../deployer/public';
import { CommonErrorCode } from '../../infra/errors/app-error';
import type { StorageFailureKind } from './storage-provider.errors';

/**
 * The kind of a failed call to a cluster's deployer (k8s-csi: every call; aws-ebs: attach, detach). `onConflict` is what its 409
 * means for the call: on detach, a pod still mounts the claim (`in_use`, later); on attach, the
 * claim's or the volume's name is another object's (`invalid`, waiting does not help).
 */
export function deployerFailureKind(error: unknown, onConflict: StorageFailureKind): StorageFailureKind {
  if (error instanceof DeployerFull) {
    return onConflict;
  }
  if (error instanceof DeployerAuthFailed) {
    return 'forbidden';
  }
  if (error instanceof DeployerPolicyRejected) {
    // The policy (e.g. the EBS CSI driver not allowed) is the operator's; Kubernetes refusing an object is the request's.
    return error.code === DeployerErrorCode.PolicyViolation ? 'forbidden' : 'invalid';
  }
  if (error instanceof DeployerRequestRejected) {
    return error.code === CommonErrorCode.NotFound ? 'not_found' : 'invalid';
  }
  if (error instanceof DeployerServerError && error.code === DeployerErrorCode.KubeForbidden) {
    return 'forbidden';
  }
  // Unreachable, a 5xx, or an open circuit: the cluster may be back later.
  return 'unavailable';
}
