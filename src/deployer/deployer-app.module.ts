import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ConfigModule } from '../infra/config/config.module';
import type { DeployerConfig } from './deployer.config';
import { LoggingModule, markPolling } from '../infra/logging/logging.module';
import { MetricsModule } from '../infra/metrics/metrics.module';
import { DeployerAuthGuard } from './deployer-auth.guard';
import { DeployerSettings } from './deployer-settings';
import { DeployerHealthController } from './deployer-health.controller';
import { DeployerController } from './deployer.controller';
import { DeployerService, KUBE_CLIENT } from './deployer.service';
import { FileTransfersController } from './file-transfers.controller';
import { FileTransfersService } from './file-transfers.service';
import { KubeClient } from './kube/kube-client';
import { VolumesController } from './volumes.controller';
import { VolumesService } from './volumes.service';

/**
 * The deployer runs as its own Nest application on its own port (so mTLS can be required there
 * alone) and is stateless: no database, no queue; Kubernetes is its only state.
 */
@Module({})
export class DeployerAppModule implements NestModule {
  /** Every read here is the coordinator's polling (status, capacity, health): logged at debug. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((req: { method?: string }, _res: unknown, next: () => void) => {
        if (req.method === 'GET') {
          markPolling(req);
        }
        next();
      })
      .forRoutes('*path');
  }

  static forRoot(config: DeployerConfig, logger: Logger, kubeConfig: KubeConfig): DynamicModule {
    const kube = new KubeClient(kubeConfig, {
      qps: config.ODC_DEPLOYER_KUBE_QPS,
      burst: config.ODC_DEPLOYER_KUBE_BURST,
    });
    return {
      module: DeployerAppModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), MetricsModule],
      controllers: [DeployerHealthController, DeployerController, VolumesController, FileTransfersController],
      providers: [
        { provide: KUBE_CLIENT, useValue: kube },
        DeployerSettings,
        DeployerService,
        VolumesService,
        FileTransfersService,
        DeployerAuthGuard,
      ],
    };
  }
}
