/**
 * A whole simulated cluster: the API server plus nodes from the configured pools, the scheduler,
 * kubelets, workload, storage and garbage-collection controllers. Tests start one in-process;
 * `npm run simulator` runs one standalone; benchmarks run several.
 */
import { SIMULATED_CSI_DRIVER } from './csi-driver';
import { SimulatedApiServer } from './api-server';
import { DEFAULT_STORAGE_BACKEND, type NodePool, type SimulatorConfig, type SimulatorFaults } from './config';
import { EventRecorder } from './events';
import { Kubelets, withCondition } from './kubelet';
import { ClusterSaver, readSavedCluster } from './persistence';
import { RESOURCE_TYPES, typeOfKey, type ResourceType } from './resources';
import { condition, Scheduler } from './scheduler';
import { StorageBackend } from './storage-backend';
import type { K8sObject } from './store';
import { VolumeControllers } from './volumes';
import { WorkloadControllers } from './workloads';

const typeOf = (kind: string): ResourceType => RESOURCE_TYPES.find((t) => t.kind === kind)!;

export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';
export const POOL_LABEL = 'odc.dev/node-pool';

/**
 * A node's InternalIP: 10.<pool index>.0.<node index + 10> for the first 246 nodes of a pool, then
 * on into 10.<pool index>.1.x and so on (unique for up to 65,526 nodes per pool).
 */
export function nodeInternalIP(poolIndex: number, index: number): string {
  const host = index + 10;
  return `10.${poolIndex}.${Math.floor(host / 256)}.${host % 256}`;
}

/**
 * The fleet's StorageClasses and VolumeSnapshotClasses (Immediate binding, `Delete`, expandable),
 * of the simulated CSI driver unless a class names another: what the simulator starts with, and
 * (with its own driver) what the real tier creates (scripts/kube/fleet.ts).
 */
export function storageClassesFor(
  config: Pick<SimulatorConfig, 'storageClasses' | 'volumeSnapshotClasses'>,
): (K8sObject & { kind: 'StorageClass' | 'VolumeSnapshotClass' })[] {
  const isDefault = (key: string, yes: boolean | undefined) =>
    yes ? { annotations: { [key]: 'true' } } : {};
  return [
    ...config.storageClasses.map((sc) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass' as const,
      metadata: { name: sc.name, ...isDefault('storageclass.kubernetes.io/is-default-class', sc.default) },
      provisioner: sc.provisioner ?? SIMULATED_CSI_DRIVER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    })),
    ...config.volumeSnapshotClasses.map((vsc) => ({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass' as const,
      metadata: {
        name: vsc.name,
        ...isDefault('snapshot.storage.kubernetes.io/is-default-class', vsc.default),
      },
      driver: vsc.driver ?? SIMULATED_CSI_DRIVER,
      deletionPolicy: 'Delete',
    })),
  ];
}

/** A fleet's node as the simulator registers it (the real-Kubernetes tier's fleet derives from it). */
export function nodeFor(cluster: string, pool: NodePool, poolIndex: number, index: number) {
  const name = `${cluster}-${pool.name}-${index}`;
  const gpuResource = pool.gpu?.resource ?? 'nvidia.com/gpu';
  const resources: Record<string, string> = {
    cpu: pool.cpu ?? '8',
    memory: pool.memory ?? '32Gi',
    pods: '110',
    'ephemeral-storage': '500Gi',
    ...(pool.gpu ? { [gpuResource]: String(pool.gpu.count) } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        [POOL_LABEL]: pool.name,
        ...(pool.zone ? { 'topology.kubernetes.io/zone': pool.zone } : {}),
        ...(pool.gpu
          ? { [GPU_PRODUCT_LABEL]: pool.gpu.product, 'nvidia.com/gpu.count': String(pool.gpu.count) }
          : {}),
        ...pool.labels,
      },
    },
    spec: { ...(pool.taints && pool.taints.length > 0 ? { taints: pool.taints } : {}) },
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: nodeInternalIP(poolIndex, index) },
        { type: 'Hostname', address: name },
      ],
      conditions: [
        { ...condition('Ready', 'True'), reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0-odc-sim',
        containerRuntimeVersion: 'sim://1',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

export class SimulatedCluster {
  private constructor(
    readonly config: SimulatorConfig,
    readonly api: SimulatedApiServer,
    /** Its storage system: shared with the other clusters of this process that name the same one. */
    readonly storageBackend: StorageBackend,
    private readonly controllers: { stop(): void }[],
  ) {}

  /**
   * With `stateFile`, the cluster a former process left there (its objects, snapshots and port)
   * comes back, and every change is saved there; else a new one from the config's pools.
   */
  static async start(
    config: SimulatorConfig,
    listen: { host?: string; port?: number } = {},
    options: { stateFile?: string } = {},
  ): Promise<SimulatedCluster> {
    const saved = options.stateFile ? readSavedCluster(options.stateFile) : undefined;
    const logSource: { kubelets?: Kubelets } = {};
    const api = await SimulatedApiServer.start({
      ...listen,
      port: listen.port ?? saved?.port,
      faults: config.faults,
      podLogs: (pod, container) => logSource.kubelets?.logs(pod, container) ?? [],
    });
    const store = api.store;
    if (saved) {
      store.load(saved.store, typeOfKey);
    }
    const events = (component: string) => new EventRecorder(store, component);
    const storageBackend = StorageBackend.named(config.storageBackend ?? DEFAULT_STORAGE_BACKEND);
    const kubelets = new Kubelets(store, events('kubelet'), config.timings, () => api.faults);
    logSource.kubelets = kubelets;
    const controllers: { stop(): void }[] = [
      new Scheduler(store, events('default-scheduler')),
      kubelets,
      new WorkloadControllers(store, events),
      new VolumeControllers(store, events, config.timings, storageBackend),
    ];
    if (saved) {
      storageBackend.load(saved.backend);
      // As controllers that start list everything: what the objects still need is done.
      store.announceAll();
    } else {
      config.nodePools.forEach((pool, poolIndex) => {
        for (let i = 0; i < pool.count; i += 1) {
          store.create(typeOf('Node'), nodeFor(config.name, pool, poolIndex, i));
        }
      });
      for (const storageClass of storageClassesFor(config)) {
        store.create(typeOf(storageClass.kind), storageClass);
      }
    }
    if (options.stateFile) {
      const port = Number(new URL(api.url).port);
      const saver = new ClusterSaver(options.stateFile, store, () => ({
        format: 1,
        port,
        store: store.state(),
        backend: storageBackend.state(),
      }));
      saver.saveNow();
      controllers.push(saver);
    }
    return new SimulatedCluster(config, api, storageBackend, controllers);
  }

  get url(): string {
    return this.api.url;
  }

  /** Fault injection: a node stops (or resumes) reporting Ready; its pods fail, the scheduler avoids it. */
  setNodeReady(name: string, ready: boolean): void {
    const node = this.api.store.mustGet(typeOf('Node'), undefined, name);
    const status = node.status as { conditions?: unknown };
    node.status = {
      ...status,
      conditions: withCondition(status.conditions, {
        ...condition('Ready', ready ? 'True' : 'Unknown'),
        reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
        message: ready ? 'kubelet is posting ready status' : 'Kubelet stopped posting node status.',
      }),
    };
    delete node.metadata.resourceVersion;
    this.api.store.update(typeOf('Node'), node);
  }

  setFaults(faults: Partial<SimulatorFaults>): void {
    this.api.faults = { ...this.api.faults, ...faults };
  }

  async close(): Promise<void> {
    this.controllers.forEach((controller) => controller.stop());
    await this.api.close();
  }
}
