import { Logger, Module } from '@nestjs/common';
import { AuthModule } from '../auth/public';
import { CryptoConfig } from '../infra/config/crypto.config';
import { CronModule } from '../infra/cron/cron.module';
import { MetricsModule } from '../infra/metrics/metrics.module';
import { CapacitySync } from './capacity/capacity-sync';
import { ClusterClients } from './client/cluster-clients';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';
import { ClusterHealthTask } from './health/cluster-health.task';
import { ClusterRegistry } from './registry/cluster-registry';
import { SecretBox } from './secrets/secret-box';

function secretBoxFrom(config: CryptoConfig): SecretBox {
  const box = SecretBox.fromConfig(config);
  if (box.usesDevelopmentKey) {
    new Logger('SecretBox').warn(
      'ODC_MASTER_KEY is not set: cluster keys and tokens are encrypted under the public development key',
    );
  }
  return box;
}

/**
 * What every coordinator, worker and cron replica holds: the registry (kept current through
 * LISTEN/NOTIFY), the secret box, one deployer client per cluster, and the capacity rows.
 */
@Module({
  imports: [MetricsModule],
  providers: [
    ClusterRegistry,
    ClusterClients,
    CapacitySync,
    { provide: SecretBox, inject: [CryptoConfig], useFactory: secretBoxFrom },
  ],
  exports: [ClusterRegistry, ClusterClients, CapacitySync, SecretBox],
})
export class ClustersModule {}

/** Role coordinator: the admin API of the registry. */
@Module({
  imports: [ClustersModule, AuthModule],
  controllers: [ClustersController],
  providers: [ClustersService],
})
export class ClustersApiModule {}

/** Role cron: health checks and capacity sync, exactly once across replicas. */
@Module({
  imports: [ClustersModule, CronModule, MetricsModule],
  providers: [ClusterHealthTask],
})
export class ClusterHealthModule {}
