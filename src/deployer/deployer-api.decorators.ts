import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
import { DeployerAuthGuard } from './deployer-auth.guard';
import { DeployerErrorCode } from './deployer.errors';

/**
 * A controller of the deployer's API: behind its guard (the bearer token, the hosts it answers,
 * client certificates), and documented with what any of its routes can answer besides its own:
 * the guard's refusals, the policy's, and Kubernetes' (src/deployer/kube/kube-failures.ts).
 */
export function DeployerApi(): ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(),
    UseGuards(DeployerAuthGuard),
    ApiErrors(
      { code: CommonErrorCode.Unauthorized, message: 'A valid bearer token is required' },
      {
        code: CommonErrorCode.Forbidden,
        message:
          'This deployer does not answer requests for host "gpu-east.example.com" (see ODC_DEPLOYER_ALLOWED_HOSTS)',
      },
      {
        code: CommonErrorCode.Forbidden,
        message: 'This client certificate is not allowed to call the deployer',
      },
      DeployerErrorCode.PolicyViolation,
      DeployerErrorCode.KubeRejected,
      DeployerErrorCode.KubeUnavailable,
      DeployerErrorCode.KubeForbidden,
    ),
  );
}
