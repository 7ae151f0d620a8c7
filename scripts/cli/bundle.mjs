// The CLI as one file that runs on the Node its users have (20 and later), with nothing to
// install beside it: dist/cli/gpu-dev.cjs, the file the coordinator serves and the install
// script fetches. Dependencies are bundled in; Node's own modules stay outside.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const outfile = resolve(root, 'dist/cli/gpu-dev.cjs');
const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

await build({
  entryPoints: [resolve(root, 'src/cli/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node' },
  define: { __GPU_DEV_BUNDLE_VERSION__: JSON.stringify(version) },
});
chmodSync(outfile, 0o755);
