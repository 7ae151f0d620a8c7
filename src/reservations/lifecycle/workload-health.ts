import type { DeploymentStatus } from '../../deployer/public';

/** Waiting reasons that do not go away by waiting: the image is wrong or cannot be fetched. */
const IMAGE_FAILURES = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
]);
/** Reasons a container keeps restarting for. */
const CRASHES = new Set(['CrashLoopBackOff', 'OOMKilled', 'Error']);
/** Restarts after which a crashing container counts as failed rather than unlucky. */
const CRASH_RESTARTS = 3;

/**
 * Why a reservation's workload cannot serve its user, from its deployer's status; undefined when
 * nothing is wrong (yet). A dead or evicted pod is never shown as active: its reservation fails
 * with this reason.
 */
export function workloadProblem(status: DeploymentStatus | undefined): string | undefined {
  if (!status?.exists) {
    return 'its objects are gone from the cluster';
  }
  for (const pod of status.pods) {
    const reason = pod.last_termination_reason;
    if (pod.phase === 'Failed') {
      return `its pod failed${reason ? ` (${reason})` : ''}${pod.node ? ` on node ${pod.node}` : ''}`;
    }
    if (reason && IMAGE_FAILURES.has(reason)) {
      return `its image cannot be started (${reason})`;
    }
    if (reason && CRASHES.has(reason) && pod.restarts >= CRASH_RESTARTS) {
      return `its container keeps crashing (${reason}, ${pod.restarts} restarts)`;
    }
  }
  return undefined;
}

/** Ready for its user: a ready pod, and the SSH port of its Service known. */
export function workloadReady(status: DeploymentStatus | undefined): boolean {
  return Boolean(status?.exists && status.pods.some((pod) => pod.ready) && status.ssh?.node_port);
}
