import { Logger, Module, type Provider } from '@nestjs/common';
import { AuditModule } from '../audit/public';
import { AuthModule } from '../auth/public';
import { ClusterClients, ClustersModule, ClusterRegistry } from '../clusters/public';
import { CronModule } from '../infra/cron/cron.module';
import { DisksController } from './disks/disks.controller';
import { DisksService } from './disks/disks.service';
import { CleanupWorker } from './lifecycle/cleanup.worker';
import { ReleaseWorker } from './lifecycle/release.worker';
import { SnapshotWorker } from './lifecycle/snapshot.worker';
import { ReconcilerTask } from './lifecycle/reconciler.task';
import { StorageTask } from './lifecycle/storage.task';
import { DiskHolds } from './disks/hold-disk';
import { createAwsEbsProvider } from './providers/aws-ebs.factory';
import { K8sCsiProvider } from './providers/k8s-csi.provider';
import { STORAGE_PROVIDER, type StorageProvider } from './providers/storage-provider';
import { StorageConfig, type StorageProviderConfig } from './storage.config';
import { StorageQueues } from './storage-queues';
import { DiskVolumes } from './volumes/disk-volumes';

/** ODC_STORAGE_PROVIDER's provider, built once per process. */
export function storageProviderFor(
  config: StorageProviderConfig,
  registry: ClusterRegistry,
  clients: ClusterClients,
): StorageProvider {
  const namespaceFor = (clusterId: string) => registry.get(clusterId)?.profile.namespace;
  switch (config.ODC_STORAGE_PROVIDER) {
    case 'k8s-csi':
      return new K8sCsiProvider({
        profileOf: (clusterId) => registry.get(clusterId)?.profile,
        clientFor: (clusterId) => clients.for(clusterId),
      });
    case 'aws-ebs':
      return createAwsEbsProvider(
        config,
        { for: (clusterId: string) => clients.for(clusterId) },
        namespaceFor,
      );
  }
}

const storageProvider: Provider = {
  provide: STORAGE_PROVIDER,
  inject: [StorageConfig, ClusterRegistry, ClusterClients],
  useFactory: (config: StorageProviderConfig, registry: ClusterRegistry, clients: ClusterClients) => {
    const provider = storageProviderFor(config, registry, clients);
    new Logger('Storage').log(`Disks on the ${provider.name} storage provider`);
    return provider;
  },
};

/** What every role that touches disks holds: the provider, the queues, volumes for provisioning. */
@Module({
  imports: [ClustersModule],
  providers: [storageProvider, StorageQueues, DiskVolumes, DiskHolds],
  exports: [ClustersModule, STORAGE_PROVIDER, StorageQueues, DiskVolumes, DiskHolds],
})
export class StorageCoreModule {}

/** Role coordinator: the disks API. */
@Module({
  imports: [StorageCoreModule, AuthModule],
  controllers: [DisksController],
  providers: [DisksService],
})
export class StorageApiModule {}

/** Role worker: snapshots, releases at the end of a reservation, deletions. */
@Module({
  imports: [StorageCoreModule],
  providers: [SnapshotWorker, ReleaseWorker, CleanupWorker],
})
export class StorageWorkerModule {}

/** Role cron: re-drives, retention, purges (and the reconciler). */
@Module({
  // The audit log's writer: the reconciler records its findings.
  imports: [StorageCoreModule, CronModule, AuditModule],
  providers: [StorageTask, ReconcilerTask],
})
export class StorageCronModule {}
