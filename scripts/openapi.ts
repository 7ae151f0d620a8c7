/**
 * Writes (`--write`) or verifies (`--check`) the committed openapi.json and openapi.deployer.json. The app is built in
 * Nest's preview mode: controllers and their metadata exist, no provider runs, so no database is
 * needed.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { AppModule } from '../src/app/app.module';
import { DeployerAppModule } from '../src/deployer/deployer-app.module';
import { kubeConfigForServer } from '../src/deployer/kube/kube-access';
import { buildDeployerOpenApiDocument, buildOpenApiDocument } from '../src/app/openapi';
import { projectRoot } from '../src/app/version';
import { loadAppConfig } from '../src/app/config';

function render(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

export async function renderOpenApi(): Promise<string> {
  const config = loadAppConfig({ ODC_ROLES: 'coordinator', NODE_ENV: 'test' });
  const app = await NestFactory.create(
    AppModule.forRoot({ config, logger: pino({ level: 'silent' }), databaseUrl: 'postgres://unused/none' }),
    { preview: true, logger: false },
  );
  const document = buildOpenApiDocument(app);
  await app.close();
  return render(document);
}

/** The deployer's document: its module needs a kubeconfig object, never contacted in preview mode. */
export async function renderDeployerOpenApi(): Promise<string> {
  const config = loadAppConfig({ ODC_ROLES: 'deployer', NODE_ENV: 'test' });
  const app = await NestFactory.create(
    DeployerAppModule.forRoot(config, pino({ level: 'silent' }), kubeConfigForServer('http://127.0.0.1:1')),
    { preview: true, logger: false },
  );
  const document = buildDeployerOpenApiDocument(app);
  await app.close();
  return render(document);
}

const DOCUMENTS: [file: string, render: () => Promise<string>][] = [
  ['openapi.json', renderOpenApi],
  ['openapi.deployer.json', renderDeployerOpenApi],
];

async function main(): Promise<void> {
  let stale = false;
  for (const [name, renderDocument] of DOCUMENTS) {
    const file = join(projectRoot(), name);
    const rendered = await renderDocument();
    if (process.argv.includes('--write')) {
      writeFileSync(file, rendered);
      console.log(`wrote ${file}`);
    } else if (readFileSync(file, 'utf8') !== rendered) {
      console.error(`${name} is out of date: run \`npm run openapi:sync\` and commit the result`);
      stale = true;
    } else {
      console.log(`${name} is up to date`);
    }
  }
  if (stale) {
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
