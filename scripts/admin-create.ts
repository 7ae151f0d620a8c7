/**
 * `npm run admin:create -- --username NAME [--hours N]`: `user:create` with --admin (the name the
 * Helm chart's notes and older guides give).
 */
import { runScript } from './script-database';
import { userCreate } from './user-create';

runScript(() => userCreate(process.argv.slice(2), true));
