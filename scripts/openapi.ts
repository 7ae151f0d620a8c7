/**
 * Writes (`--write`) or verifies (`--check`) the committed openapi.json. The app is built in
 * Nest's preview mode: controllers and their metadata exist, no provider runs, so no database is
 * needed.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { AppModule } from '../src/app/app.module';
import { buildOpenApiDocument } from '../src/app/openapi';
import { projectRoot } from '../src/app/version';
import { loadConfig } from '../src/infra/config/env';

export async function renderOpenApi(): Promise<string> {
  const config = loadConfig({ ODC_ROLES: 'coordinator', NODE_ENV: 'test' });
  const app = await NestFactory.create(
    AppModule.forRoot({ config, logger: pino({ level: 'silent' }), databaseUrl: 'postgres://unused/none' }),
    { preview: true, logger: false },
  );
  const document = buildOpenApiDocument(app);
  await app.close();
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  const file = join(projectRoot(), 'openapi.json');
  const rendered = await renderOpenApi();
  if (process.argv.includes('--write')) {
    writeFileSync(file, rendered);
    console.log(`wrote ${file}`);
    return;
  }
  if (readFileSync(file, 'utf8') !== rendered) {
    console.error('openapi.json is out of date: run `npm run openapi:sync` and commit the result');
    process.exit(1);
  }
  console.log('openapi.json is up to date');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
