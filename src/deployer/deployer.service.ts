import { Inject, Injectable } from '@nestjs/common';
import type { KubernetesObject } from '@kubernetes/client-node';
import { AppConfig } from '../infra/config/env';
import { AppError } from '../infra/errors/app-error';
import {
  LABELS,
  MANAGED_BY,
  manifestsOf,
  type AppliedObject,
  type ApplyResult,
  type DeploymentSpec,
  type DeploymentStatus,
  type PodSummary,
  type UrlReady,
} from './contract';
import { DeployerErrorCode } from './deployer.errors';
import { KubeClient, KubeError } from './kube/kube-client';
import { checkPolicy, withManagedLabels, type DeployerPolicy } from './policy';

export const KUBE_CLIENT = Symbol('KUBE_CLIENT');

/** The kinds a deployment is made of, in the order they are torn down. */
const MANAGED_KINDS: [apiVersion: string, kind: string, namespaced: boolean][] = [
  ['apps/v1', 'Deployment', true],
  ['v1', 'Pod', true],
  ['networking.k8s.io/v1', 'Ingress', true],
  ['v1', 'Service', true],
  ['policy/v1', 'PodDisruptionBudget', true],
  ['v1', 'ConfigMap', true],
  ['v1', 'PersistentVolumeClaim', true],
  ['v1', 'PersistentVolume', false],
];

type Pod = KubernetesObject & {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      restartCount: number;
      lastState?: { terminated?: { reason?: string } };
      state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
    }[];
  };
};

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

@Injectable()
export class DeployerService {
  private readonly started = Date.now();
  readonly namespaces: string[];
  private readonly policy: DeployerPolicy;

  constructor(
    @Inject(KUBE_CLIENT) private readonly kube: KubeClient,
    config: AppConfig,
  ) {
    this.namespaces = commaList(config.ODC_DEPLOYER_NAMESPACES);
    this.policy = {
      namespaces: this.namespaces,
      maxGpus: config.ODC_DEPLOYER_MAX_GPUS,
      maxCpu: config.ODC_DEPLOYER_MAX_CPU,
      maxMemory: config.ODC_DEPLOYER_MAX_MEMORY,
      allowedCapabilities: commaList(config.ODC_DEPLOYER_ALLOWED_CAPABILITIES),
      allowLoadBalancer: config.ODC_DEPLOYER_ALLOW_LOADBALANCER,
    };
  }

  /**
   * Applies every object (policy first: all or nothing). Idempotent: a repeat changes nothing; after
   * a failure part-way, the answer names the object that failed and a retry completes the rest.
   */
  async applyDeployment(spec: DeploymentSpec): Promise<{ created: boolean; result: ApplyResult }> {
    const violations = checkPolicy(spec, this.policy);
    if (violations.length > 0) {
      throw new AppError(
        DeployerErrorCode.PolicyViolation,
        `The spec breaks the deployer policy (${violations.length} violation${violations.length > 1 ? 's' : ''}); nothing was applied`,
        {
          violations,
        },
      );
    }
    const externalId = spec.metadata.external_id;
    const objects: AppliedObject[] = [];
    for (const { field, manifest } of manifestsOf(spec)) {
      try {
        objects.push(await this.kube.apply(withManagedLabels(manifest, externalId)));
      } catch (error) {
        const kubeError = error instanceof KubeError ? error : undefined;
        throw new AppError(
          kubeError?.kind === 'invalid' || kubeError?.kind === 'bad_request'
            ? DeployerErrorCode.KubeRejected
            : DeployerErrorCode.KubeUnavailable,
          `Applying ${field} (${manifest.kind} ${manifest.metadata.name}) failed: ${error instanceof Error ? error.message : String(error)}`,
          {
            failed_object: { field, kind: manifest.kind, name: manifest.metadata.name },
            applied: objects,
            causes: kubeError?.causes ?? [],
          },
        );
      }
    }
    return {
      created: objects.some((o) => o.action === 'created'),
      result: { external_id: externalId, objects },
    };
  }

  /** Everything carrying the external id, except volumes of persistent disks (they live on). */
  async deleteDeployment(externalId: string): Promise<number> {
    return reportKubeFailures(() => this.deleteAll(externalId));
  }

  private async deleteAll(externalId: string): Promise<number> {
    const selector = `${LABELS.externalId}=${externalId},${LABELS.managedBy}=${MANAGED_BY},!${LABELS.persistentDisk}`;
    let deleted = 0;
    for (const object of await this.listManaged(selector)) {
      await this.kube.delete(object);
      deleted += 1;
    }
    return deleted;
  }

  async status(externalId: string): Promise<DeploymentStatus> {
    return reportKubeFailures(() => this.readStatus(externalId));
  }

  private async readStatus(externalId: string): Promise<DeploymentStatus> {
    const selector = `${LABELS.externalId}=${externalId}`;
    const [deployments, pods] = await Promise.all([
      this.listIn('apps/v1', 'Deployment', selector),
      this.listIn('v1', 'Pod', selector) as Promise<Pod[]>,
    ]);
    const names = new Set([...deployments, ...pods].map((o) => o.metadata?.name));
    const events = (await Promise.all(this.namespaces.map((ns) => this.kube.listEvents(ns)))).flat();
    return {
      external_id: externalId,
      exists: deployments.length + pods.length > 0,
      ready_replicas: deployments.reduce(
        (sum, d) => sum + ((d as { status?: { readyReplicas?: number } }).status?.readyReplicas ?? 0),
        0,
      ),
      pods: pods.map(summarizePod),
      warnings: events
        .filter((e) => e.type === 'Warning' && names.has(e.involvedObject.name))
        .slice(-10)
        .map((e) => ({
          reason: e.reason ?? '',
          message: e.message ?? '',
          object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
          at: e.lastTimestamp?.toISOString(),
        })),
    };
  }

  async urlReady(externalId: string): Promise<UrlReady> {
    const selector = `${LABELS.externalId}=${externalId}`;
    const [status, services, ingresses] = await reportKubeFailures(() =>
      Promise.all([
        this.readStatus(externalId),
        this.listIn('v1', 'Service', selector),
        this.listIn('networking.k8s.io/v1', 'Ingress', selector),
      ]),
    );
    const workload = status.pods.some((pod) => pod.ready);
    const checks = { workload, service: services.length > 0, ingress: ingresses.length > 0 };
    // Jupyter (the Ingress) is optional: SSH needs the workload and its Service.
    return { ready: workload && checks.service, checks };
  }

  async logs(
    externalId: string,
    options: {
      container?: string;
      tailLines?: number;
      sinceSeconds?: number;
      previous?: boolean;
      timestamps?: boolean;
    },
  ): Promise<string | undefined> {
    return reportKubeFailures(async () => {
      const pods = (await this.listIn('v1', 'Pod', `${LABELS.externalId}=${externalId}`)) as Pod[];
      const pod = pods.find((p) => p.status?.phase === 'Running') ?? pods[0];
      if (!pod?.metadata?.name || !pod.metadata.namespace) {
        return undefined;
      }
      return this.kube.podLog(pod.metadata.namespace, pod.metadata.name, options);
    });
  }

  async health(): Promise<{
    status: 'ok';
    kubernetes: { reachable: true; version: string };
    namespaces: string[];
    uptime_seconds: number;
  }> {
    const version = await reportKubeFailures(() => this.kube.serverVersion());
    return {
      status: 'ok',
      kubernetes: { reachable: true, version },
      namespaces: this.namespaces,
      uptime_seconds: Math.round((Date.now() - this.started) / 1000),
    };
  }

  private async listIn(apiVersion: string, kind: string, selector: string): Promise<KubernetesObject[]> {
    return (
      await Promise.all(this.namespaces.map((ns) => this.kube.list(apiVersion, kind, ns, selector)))
    ).flat();
  }

  private async listManaged(selector: string): Promise<KubernetesObject[]> {
    const lists = await Promise.all(
      MANAGED_KINDS.map(([apiVersion, kind, namespaced]) =>
        namespaced
          ? this.listIn(apiVersion, kind, selector)
          : this.kube.list(apiVersion, kind, undefined, selector),
      ),
    );
    return lists.flat();
  }
}

/** A Kubernetes failure on a read or a delete: the cluster's problem, reported as 502 with its reason. */
async function reportKubeFailures<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof KubeError) {
      throw new AppError(DeployerErrorCode.KubeUnavailable, `Kubernetes: ${error.message}`, {
        causes: error.causes,
      });
    }
    throw error;
  }
}

function summarizePod(pod: Pod): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const termination = statuses
    .map((c) => c.lastState?.terminated?.reason ?? c.state?.terminated?.reason ?? c.state?.waiting?.reason)
    .find(Boolean);
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Pending',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    restarts: statuses.reduce((sum, c) => sum + c.restartCount, 0),
    ...(termination ? { last_termination_reason: termination } : {}),
    ...(scheduled?.status === 'False' && scheduled.message ? { scheduling_message: scheduled.message } : {}),
  };
}
