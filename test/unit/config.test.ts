import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName } from '../../daemon/config/keys.js';
import { ConfigError, configKeyList, loadConfig } from '../../daemon/config/load.js';
import { tempDir } from '../helpers/daemon.js';

const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.length > 0 ? (error as ConfigError).problems : [(error as ConfigError).message];
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('runs on embedded defaults: ./data, one listener on 8082', () => {
    const { config, dataDir, databaseFile, keyDir } = loadConfig({ env: {} });
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 8082, publicHealth: true, publicMetrics: true });
    expect(dataDir).toBe(join(process.cwd(), 'data'));
    expect(databaseFile).toBe(join(dataDir, 'beskar7.db'));
    expect(keyDir).toBe(join(dataDir, 'keys'));
    expect(config.database.synchronous).toBe('FULL');
  });

  it('layers file < environment < flags and remembers where each value came from', () => {
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'http:\n  port: 9000\n  host: 127.0.0.1\nlog:\n  level: warn\n');
    const loaded = loadConfig({
      file,
      env: { BESKAR7_HTTP_PORT: '9100', BESKAR7_DATA_DIR: '/srv/b7', BESKAR7_LOG_REQUESTS: 'false' },
      overrides: ['http.port=9200'],
    });
    expect(loaded.config.http.port).toBe(9200);
    expect(loaded.config.http.host).toBe('127.0.0.1');
    expect(loaded.config.log).toEqual({ level: 'warn', requests: false });
    expect(loaded.dataDir).toBe('/srv/b7');
    expect(loaded.origins.get('http.port')).toBe('flag --set http.port');
    expect(loaded.origins.get('http.host')).toBe(`config file ${file}`);
    expect(loaded.origins.get('dataDir')).toBe('environment BESKAR7_DATA_DIR');
  });

  it('derives an environment variable for every key', () => {
    expect(envName(['http', 'bodyLimitBytes'])).toBe('BESKAR7_HTTP_BODY_LIMIT_BYTES');
    expect(envName(['dataDir'])).toBe('BESKAR7_DATA_DIR');
    const names = configKeyList.map((k) => k.env);
    expect(new Set(names).size).toBe(names.length);
    expect(configKeyList.every((k) => k.description.length > 0)).toBe(true);
  });

  it('names the key, its source and what was expected', () => {
    expect(problemsOf(() => loadConfig({ env: { BESKAR7_HTTP_PORT: 'eighty' } }))).toEqual([
      expect.stringMatching(/^http\.port \(from environment BESKAR7_HTTP_PORT\): .*number/),
    ]);
    expect(problemsOf(() => loadConfig({ env: {}, overrides: ['http.port=70000'] }))[0]).toMatch(/^http\.port \(from flag --set http\.port\): .*65535/);
    expect(problemsOf(() => loadConfig({ env: { BESKAR7_LOG_LEVEL: 'loud' } }))[0]).toMatch(/log\.level .*"fatal"/);
    expect(problemsOf(() => loadConfig({ env: {}, overrides: ['http.prot=1'] }))[0]).toMatch(/http\.prot \(from --set\): unknown setting/);
  });

  it('rejects unknown keys in the file, naming them', () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'htp:\n  port: 1\nhttp:\n  prot: 2\n');
    const problems = problemsOf(() => loadConfig({ file, env: {} }));
    expect(problems.join('\n')).toContain(`htp (from config file ${file}): unknown setting`);
    expect(problems.join('\n')).toContain('http.prot');
  });

  it('gives a readable error for a missing, unreadable, malformed or non-mapping file', () => {
    const dir = tempDir();
    expect(() => loadConfig({ file: join(dir, 'absent.yaml'), env: {} })).toThrow(/cannot read config file .*absent\.yaml: no such file/);
    expect(() => loadConfig({ file: dir, env: {} })).toThrow(/it is a directory/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'http:\n  port: [1,\n');
    expect(() => loadConfig({ file: broken, env: {} })).toThrow(/is not valid YAML/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(() => loadConfig({ file: list, env: {} })).toThrow(/must hold a mapping/);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked.yaml');
      writeFileSync(locked, 'http: {}\n');
      chmodSync(locked, 0);
      expect(() => loadConfig({ file: locked, env: {} })).toThrow(/permission denied/);
    }
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    expect(loadConfig({ file: empty, env: {} }).config.http.port).toBe(8082);
  });

  it('resolves relative database and key paths against the data dir, keeps absolute ones', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'x'));
    const loaded = loadConfig({ env: {}, overrides: [`dataDir=${dir}`, 'database.file=state/b7.db', 'secrets.keyDir=/etc/beskar7/keys'] });
    expect(loaded.databaseFile).toBe(join(dir, 'state', 'b7.db'));
    expect(loaded.keyDir).toBe('/etc/beskar7/keys');
  });
});
