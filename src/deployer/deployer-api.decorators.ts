import { applyDecorators, UseGuards } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ErrorResponse } from '../infra/http/error-response';
import { DeployerAuthGuard } from './deployer-auth.guard';

/**
 * A controller of the deployer's API: behind its guard (the bearer token, the hosts it answers,
 * client certificates), and documented with what any of its routes can answer besides its own:
 * the guard's refusals, the policy's, and Kubernetes' (src/deployer/kube/kube-failures.ts).
 */
export function DeployerApi(): ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(),
    UseGuards(DeployerAuthGuard),
    ApiUnauthorizedResponse({ type: ErrorResponse, description: 'No valid bearer token' }),
    ApiForbiddenResponse({
      type: ErrorResponse,
      description: 'A host name or client certificate this deployer does not answer',
    }),
    ApiUnprocessableEntityResponse({
      type: ErrorResponse,
      description: 'POLICY_VIOLATION (the policy refuses it), kube_rejected (Kubernetes refuses it)',
    }),
    ApiBadGatewayResponse({
      type: ErrorResponse,
      description:
        'kube_unavailable (Kubernetes cannot be reached), kube_forbidden (nor may the deployer ask)',
    }),
  );
}
