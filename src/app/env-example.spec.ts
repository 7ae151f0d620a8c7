import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { appConfigKeys, loadAppConfig } from './config';
import { projectRoot } from './version';

describe('.env.example', () => {
  const text = readFileSync(join(projectRoot(), '.env.example'), 'utf8');

  it('documents every variable, and nothing that does not exist', () => {
    expect(Object.keys(parseEnv(text)).sort()).toEqual(appConfigKeys().sort());
  });

  it('is itself a valid configuration', () => {
    expect(() => loadAppConfig(parseEnv(text))).not.toThrow();
  });
});
