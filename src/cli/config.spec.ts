import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPath, readConfig, resolveSettings, writeConfig } from './config';

describe('gpu-dev settings', () => {
  it('takes a flag over the environment over the file, and says where each came from', () => {
    const stored = { api_url: 'https://file.example.com', api_key: 'file-key' };
    expect(resolveSettings({}, {}, stored)).toMatchObject({
      apiUrl: 'https://file.example.com',
      apiKey: 'file-key',
      sources: { apiUrl: 'config file', apiKey: 'config file' },
    });
    expect(
      resolveSettings(
        { apiKey: 'flag-key' },
        { ODC_API_URL: 'https://env.example.com/', ODC_API_KEY: 'env-key' },
        stored,
      ),
    ).toMatchObject({
      apiUrl: 'https://env.example.com',
      apiKey: 'flag-key',
      sources: { apiUrl: 'environment', apiKey: 'flag' },
    });
    expect(resolveSettings({}, {}, {}).sources).toEqual({ apiUrl: 'not set', apiKey: 'not set' });
  });

  it('keeps the file under XDG_CONFIG_HOME, readable by its owner only, and names a broken one', () => {
    const base = mkdtempSync(join(tmpdir(), 'gpu-dev-config-'));
    try {
      const path = configPath({ XDG_CONFIG_HOME: base });
      expect(path).toBe(join(base, 'gpu-dev', 'config.json'));
      writeConfig({ api_url: 'https://odc.example.com' }, path);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readConfig(path)).toEqual({ api_url: 'https://odc.example.com' });
      writeFileSync(path, '{ not json');
      expect(() => readConfig(path)).toThrow(`${path} is not valid JSON`);
      expect(readConfig(join(base, 'missing.json'))).toEqual({});
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
