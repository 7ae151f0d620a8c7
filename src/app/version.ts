import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The root of the checkout or image: the nearest folder up from here with ODC's package.json. */
export function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'odc') {
      return dir;
    }
    if (dirname(dir) === dir) {
      throw new Error(`package.json of odc not found above ${from}`);
    }
  }
}

export const APP_VERSION = (
  JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }
).version;
