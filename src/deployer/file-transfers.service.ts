import { Inject, Injectable } from '@nestjs/common';
import type { KubernetesObject } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import {
  FILE_TRANSFER_LABEL,
  LABELS,
  MANAGED_BY,
  type FileTransferInfo,
  type FileTransferRequest,
  type Manifest,
  type TransferDirection,
  type TransferState,
} from './contract';
import { DeployerSettings } from './deployer-settings';
import { DeployerErrorCode } from './deployer.errors';
import { KUBE_CLIENT } from './deployer.service';
import { KubeClient } from './kube/kube-client';
import { applyFailure, reportKubeFailures } from './kube/kube-failures';
import { assertNoViolations, manifestViolations } from './policy';

const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
/** Transfer pods carry this instead of the external id, so they never count as the deployment's pods. */
const TRANSFER_OF_LABEL = 'odc.dev/file-transfer-of';
/** The claim a transfer mounts, on its Job. */
const VOLUME_ANNOTATION = 'odc.dev/volume';
const BACKOFF_LIMIT = 1;
const DEFAULT_MOUNT_PATH = '/data';
const DEFAULT_TIMEOUT_SECONDS = 3600;
/** Finished transfer Jobs (and their logs) stay a day for inspection, then Kubernetes removes them. */
const FINISHED_TTL_SECONDS = 86_400;

type DevPod = KubernetesObject & {
  spec?: {
    nodeName?: string;
    tolerations?: unknown[];
    volumes?: { persistentVolumeClaim?: { claimName?: string } }[];
  };
  status?: { phase?: string };
};

type Job = KubernetesObject & {
  status?: {
    active?: number;
    failed?: number;
    completionTime?: string;
    conditions?: { type: string; status: string; message?: string; reason?: string }[];
  };
};

type TransferPod = KubernetesObject & {
  status?: {
    phase?: string;
    containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
  };
};

/**
 * Copies files into or out of a deployment's volume with a Job that mounts it: the image and
 * arguments come from the caller (e.g. an object-storage client), the deployer adds the volume,
 * puts the pod on the node that already mounts a ReadWriteOnce volume, and holds it to the policy.
 */
@Injectable()
export class FileTransfersService {
  constructor(
    @Inject(KUBE_CLIENT) private readonly kube: KubeClient,
    private readonly settings: DeployerSettings,
  ) {}

  async startTransfer(
    externalId: string,
    direction: TransferDirection,
    request: FileTransferRequest,
  ): Promise<FileTransferInfo> {
    const pod = await this.devPodOf(externalId);
    const namespace = pod.metadata!.namespace!;
    const mounted = (pod.spec?.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
    );
    const volume = request.volume ?? mounted[0];
    if (!volume) {
      throw new AppError(
        DeployerErrorCode.NoVolume,
        `Deployment ${externalId} mounts no volume; name one in "volume"`,
      );
    }
    const job = transferJob({ externalId, direction, request, namespace, volume, pod });
    assertNoViolations(manifestViolations(job, 'job', this.settings.policy), 'transfer');
    await reportKubeFailures(async () => {
      const claim = await this.kube.read({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: volume, namespace },
      });
      // Only this deployment's data, as the policy let its pods mount it: a claim it created, or a
      // persistent disk its pod mounts (never another deployment's claim, whatever a pod mounts).
      const labels = claim?.metadata?.labels ?? {};
      const ours =
        labels[LABELS.managedBy] === MANAGED_BY &&
        (labels[LABELS.externalId] === externalId ||
          (mounted.includes(volume) &&
            labels[LABELS.persistentDisk] !== undefined &&
            labels[LABELS.externalId] === undefined));
      if (!ours) {
        throw new AppError(
          CommonErrorCode.NotFound,
          `Volume ${volume} is not a volume of deployment ${externalId} (in namespace ${namespace})`,
        );
      }
      try {
        await this.kube.apply(job, undefined);
      } catch (error) {
        throw applyFailure('job', job, error);
      }
    });
    return this.getTransfer(externalId, job.metadata.name);
  }

  async getTransfer(externalId: string, id: string): Promise<FileTransferInfo> {
    return reportKubeFailures(async () => {
      const selector = `${LABELS.externalId}=${externalId},${FILE_TRANSFER_LABEL}`;
      const jobs = (await this.listIn('batch/v1', 'Job', selector)) as Job[];
      const job = jobs.find((j) => j.metadata?.name === id);
      if (!job) {
        throw new AppError(
          CommonErrorCode.NotFound,
          `File transfer ${id} of deployment ${externalId} not found`,
        );
      }
      const pods = (await this.kube.list(
        'v1',
        'Pod',
        job.metadata!.namespace,
        `${JOB_NAME_LABEL}=${id}`,
      )) as TransferPod[];
      return transferInfo(externalId, job, pods);
    });
  }

  /** The deployment's pod, the running one first: it tells the namespace, the node and the volume. */
  private async devPodOf(externalId: string): Promise<DevPod> {
    const pods = (await reportKubeFailures(() =>
      this.listIn('v1', 'Pod', `${LABELS.externalId}=${externalId}`),
    )) as DevPod[];
    const pod = pods.find((p) => p.status?.phase === 'Running') ?? pods[0];
    if (!pod) {
      throw new AppError(CommonErrorCode.NotFound, `No pod of deployment ${externalId}`);
    }
    return pod;
  }

  private async listIn(apiVersion: string, kind: string, selector: string): Promise<KubernetesObject[]> {
    const lists = await Promise.all(
      this.settings.namespaces.map((ns) => this.kube.list(apiVersion, kind, ns, selector)),
    );
    return lists.flat();
  }
}

function onNode(node: string): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
      },
    },
  };
}

function transferJob(input: {
  externalId: string;
  direction: TransferDirection;
  request: FileTransferRequest;
  namespace: string;
  volume: string;
  pod: DevPod;
}): Manifest {
  const { externalId, direction, request, namespace, volume, pod } = input;
  const name = `${externalId.slice(0, 48)}-${direction === 'upload' ? 'up' : 'down'}-${randomBytes(3).toString('hex')}`;
  const node = pod.spec?.nodeName;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.externalId]: externalId,
        [FILE_TRANSFER_LABEL]: direction,
      },
      annotations: { [VOLUME_ANNOTATION]: volume },
    },
    spec: {
      backoffLimit: BACKOFF_LIMIT,
      activeDeadlineSeconds: request.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS,
      ttlSecondsAfterFinished: FINISHED_TTL_SECONDS,
      template: {
        metadata: { labels: { [LABELS.managedBy]: MANAGED_BY, [TRANSFER_OF_LABEL]: externalId } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          // A ReadWriteOnce volume can only be mounted again on the node that has it (by its name:
          // the hostname label need not equal it).
          ...(node ? { affinity: onNode(node) } : {}),
          ...(pod.spec?.tolerations ? { tolerations: pod.spec.tolerations } : {}),
          containers: [
            {
              name: 'transfer',
              image: request.image,
              ...(request.command ? { command: request.command } : {}),
              ...(request.args ? { args: request.args } : {}),
              env: [
                ...(request.env ?? []),
                { name: 'TRANSFER_DIRECTION', value: direction },
                { name: 'TRANSFER_PATH', value: request.mount_path ?? DEFAULT_MOUNT_PATH },
              ],
              volumeMounts: [{ name: 'data', mountPath: request.mount_path ?? DEFAULT_MOUNT_PATH }],
              securityContext: { allowPrivilegeEscalation: false },
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: volume } }],
        },
      },
    },
  };
}

function transferInfo(externalId: string, job: Job, pods: TransferPod[]): FileTransferInfo {
  const condition = (type: string) =>
    job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const failed = condition('Failed');
  const waiting = pods
    .flatMap((p) => p.status?.containerStatuses ?? [])
    .map((c) => c.state?.waiting)
    .find((w) => w?.reason && w.reason !== 'ContainerCreating');
  let state: TransferState = 'pending';
  let message: string | undefined = waiting
    ? `${waiting.reason}: ${waiting.message ?? ''}`.trim()
    : undefined;
  if (condition('Complete')) {
    state = 'succeeded';
    message = undefined;
  } else if (failed || (job.status?.failed ?? 0) > BACKOFF_LIMIT) {
    state = 'failed';
    message = failed?.message ?? failed?.reason ?? `the transfer pod failed ${job.status?.failed} times`;
  } else if (pods.some((p) => p.status?.phase === 'Running')) {
    state = 'running';
  }
  const labels = job.metadata?.labels ?? {};
  return {
    id: job.metadata?.name ?? '',
    external_id: externalId,
    direction: labels[FILE_TRANSFER_LABEL] === 'download' ? 'download' : 'upload',
    volume: job.metadata?.annotations?.[VOLUME_ANNOTATION] ?? '',
    state,
    ...(job.metadata?.creationTimestamp
      ? { created_at: new Date(job.metadata.creationTimestamp).toISOString() }
      : {}),
    ...(job.status?.completionTime
      ? { completed_at: new Date(job.status.completionTime).toISOString() }
      : {}),
    ...(message ? { message } : {}),
  };
}
