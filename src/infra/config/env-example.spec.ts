import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { projectRoot } from '../../app/version';
import { configKeys, loadConfig } from './env';

describe('.env.example', () => {
  const text = readFileSync(join(projectRoot(), '.env.example'), 'utf8');

  it('documents every variable, and nothing that does not exist', () => {
    expect(Object.keys(parseEnv(text)).sort()).toEqual(configKeys().sort());
  });

  it('is itself a valid configuration', () => {
    expect(() => loadConfig(parseEnv(text))).not.toThrow();
  });
});
