import { Injectable } from '@nestjs/common';
import { commaList } from '../infra/config/comma-list';
import { DeployerConfig } from './deployer.config';
import { AppError } from '../infra/errors/app-error';
import { DeployerErrorCode } from './deployer.errors';
import type { DeployerPolicy } from './policy';

/** The deployer's configuration, read once: its namespaces and the policy it enforces. */
@Injectable()
export class DeployerSettings {
  readonly namespaces: string[];
  readonly policy: DeployerPolicy;
  readonly gpuLabel: string;

  constructor(config: DeployerConfig) {
    this.namespaces = commaList(config.ODC_DEPLOYER_NAMESPACES);
    this.gpuLabel = config.ODC_DEPLOYER_GPU_LABEL;
    this.policy = {
      namespaces: this.namespaces,
      maxGpus: config.ODC_DEPLOYER_MAX_GPUS,
      maxCpu: config.ODC_DEPLOYER_MAX_CPU,
      maxMemory: config.ODC_DEPLOYER_MAX_MEMORY,
      maxReplicas: config.ODC_DEPLOYER_MAX_REPLICAS,
      maxVolumeSize: config.ODC_DEPLOYER_MAX_VOLUME_SIZE,
      allowedCapabilities: commaList(config.ODC_DEPLOYER_ALLOWED_CAPABILITIES),
      allowedCsiDrivers: commaList(config.ODC_DEPLOYER_ALLOWED_CSI_DRIVERS),
      allowLoadBalancer: config.ODC_DEPLOYER_ALLOW_LOADBALANCER,
      allowNodePort: config.ODC_DEPLOYER_ALLOW_NODEPORT,
      podServiceAccount: config.ODC_DEPLOYER_POD_SERVICE_ACCOUNT,
      allowEphemeralVolumes: config.ODC_DEPLOYER_ALLOW_EPHEMERAL_VOLUMES,
    };
  }

  /** The namespace a request names, or the first configured one; another is a policy violation. */
  namespaceFor(requested: string | undefined): string {
    const namespace = requested ?? this.namespaces[0];
    if (namespace === undefined || !this.namespaces.includes(namespace)) {
      throw new AppError(
        DeployerErrorCode.PolicyViolation,
        `Namespace ${namespace} is not managed by this deployer`,
        {
          violations: [
            { path: 'namespace', rule: `namespace must be one of: ${this.namespaces.join(', ')}` },
          ],
        },
      );
    }
    return namespace;
  }
}
