import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Set by the bundle (scripts/cli/bundle.mjs): the bundled CLI has no package.json beside it. */
declare const __GPU_DEV_BUNDLE_VERSION__: string | undefined;

/** From a checkout (`npx gpu-dev`): the version in ODC's package.json above this file. */
function checkoutVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'odc' && manifest.version) {
        return manifest.version;
      }
    }
  }
  return 'unknown';
}

export const CLI_VERSION =
  typeof __GPU_DEV_BUNDLE_VERSION__ === 'string' ? __GPU_DEV_BUNDLE_VERSION__ : checkoutVersion();
