/**
 * The deployer as an AWS Lambda behind API Gateway (REST API or HTTP API): handler
 * `dist/src/lambda.handler`. Configuration comes from the environment, as for the long-running
 * deployer (see docs/deployer.md). An entry point, like src/main.ts: it composes the deployer's
 * app (src/app/deployer-lambda.ts), which no domain may import.
 */
import 'reflect-metadata';
import { createRootLogger } from './infra/logging/logger';
import { createDeployerLambda, loadLambdaConfig } from './app/deployer-lambda';

export const handler = createDeployerLambda(() => {
  const config = loadLambdaConfig();
  return { config, logger: createRootLogger(config) };
});
