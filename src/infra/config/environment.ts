import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

export type EnvSource = Record<string, string | undefined>;

/**
 * The process environment, over a `.env` file in the working directory when there is one. The
 * only reader of `process.env`: everything else takes its configuration sections.
 */
export function readEnvironment(cwd = process.cwd()): EnvSource {
  const file = `${cwd}/.env`;
  const fromFile =
    process.env.NODE_ENV !== 'test' && existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}
