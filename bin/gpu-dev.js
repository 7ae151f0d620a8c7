#!/usr/bin/env node
// The gpu-dev CLI (src/cli), run from the compiled tree.
let cli;
try {
  cli = require('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('gpu-dev is not built yet: run `npm run build:fast` in the ODC checkout\n');
    process.exit(1);
  }
  throw error;
}
cli.run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
