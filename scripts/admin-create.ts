/**
 * `npm run admin:create -- --username NAME`: makes NAME an admin (creating the user if needed) and
 * prints a new API key with every scope, once. DATABASE_URL when set, else the embedded server
 * under ODC_DATA_DIR (stop `npm start` first: one process per data folder).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createAdmin } from '../src/auth/first-admin';
import { loadAppConfig } from '../src/app/config';
import { runScript, withScriptDatabase } from './script-database';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { username: { type: 'string' } }, strict: true });
  const username = values.username?.trim().toLowerCase();
  if (!username || !/^[a-z0-9._-]{1,64}$/.test(username)) {
    console.error('usage: npm run admin:create -- --username NAME   (a-z, 0-9, . _ -; at most 64)');
    return 2;
  }
  const config = loadAppConfig();
  return withScriptDatabase(config, 'odc:admin-create', async (dataSource) => {
    const admin = await createAdmin(dataSource, config, username, 'admin-create');
    console.log(
      `${admin.username} is an admin. API key (shown once, valid until ${admin.expiresAt.toISOString()}):`,
    );
    console.log(admin.key);
    return 0;
  });
}

runScript(main);
