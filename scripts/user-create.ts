/**
 * `npm run user:create -- --username NAME [--admin] [--hours N]`: makes the user NAME (an admin
 * with --admin), creating them if needed, and prints a new API key once. DATABASE_URL when set,
 * else the embedded server under ODC_DATA_DIR: while `npm start` runs, the one it started.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createUserWithKey } from '../src/auth/first-admin';
import { loadAppConfig } from '../src/app/config';
import { runScript, withScriptDatabase } from './script-database';

const USAGE =
  'usage: npm run user:create -- --username NAME [--admin] [--hours N]\n' +
  '  NAME: a-z, 0-9, . _ -; at most 64. --hours: the key lifetime (default and most: ODC_API_KEY_MAX_TTL_HOURS)';

/** The script's work; `admin:create` is this with --admin always on. */
export async function userCreate(args: string[], alwaysAdmin = false): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      username: { type: 'string' },
      admin: { type: 'boolean', default: false },
      hours: { type: 'string' },
    },
    strict: true,
  });
  const username = values.username?.trim().toLowerCase();
  const hours = values.hours === undefined ? undefined : Number(values.hours);
  if (!username || !/^[a-z0-9._-]{1,64}$/.test(username) || (hours !== undefined && !(hours > 0))) {
    console.error(USAGE);
    return 2;
  }
  const config = loadAppConfig();
  if (hours !== undefined && hours > config.ODC_API_KEY_MAX_TTL_HOURS) {
    console.error(`--hours is at most ${config.ODC_API_KEY_MAX_TTL_HOURS} here (ODC_API_KEY_MAX_TTL_HOURS)`);
    return 2;
  }
  const admin = alwaysAdmin || values.admin;
  return withScriptDatabase(config, 'odc:user-create', async (dataSource) => {
    const user = await createUserWithKey(dataSource, config, {
      username,
      admin,
      origin: 'user-create',
      ttlHours: hours,
    });
    console.log(
      `${user.username} is ${user.admin ? 'an admin' : 'a user'}. API key (shown once, valid until ${user.expiresAt.toISOString()}):`,
    );
    console.log(user.key);
    console.log(`Log in with it: gpu-dev login --key   (then paste it)`);
    return 0;
  });
}

if (require.main === module) {
  runScript(() => userCreate(process.argv.slice(2)));
}
