import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/daemon.js';
import { runCli, spawnDaemon, stopDaemon, type DaemonProcess } from '../helpers/process.js';

let daemon: DaemonProcess;
let env: Record<string, string>;
const dataDir = tempDir('beskar7-cli-');

beforeAll(async () => {
  daemon = await spawnDaemon(dataDir);
  env = { BESKAR7_URL: daemon.url, BESKAR7_TOKEN: daemon.token };
});
afterAll(async () => {
  await stopDaemon(daemon);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('beskar7 CLI against a real daemon', () => {
  it('creates a token and uses it', async () => {
    const created = await runCli(['token', 'create', '--name', 'operator', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = JSON.parse(created.stdout) as { token: string; id: string };
    const list = await runCli(['token', 'list'], { BESKAR7_URL: daemon.url, BESKAR7_TOKEN: token });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+AGE\s+LAST USED\s+STATUS/);
    expect(list.stdout).toContain('operator');
    expect(list.stdout).not.toContain(token);
    const revoke = await runCli(['token', 'revoke', id], env);
    expect(revoke.stdout).toContain(`token ${id} "operator" revoked`);
    const refused = await runCli(['host', 'list'], { BESKAR7_URL: daemon.url, BESKAR7_TOKEN: token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('a valid API token is required');
  });

  it('round-trips a host: add, list, show, edit, delete', async () => {
    const add = await runCli(
      ['host', 'add', 'server-01', '--bmc', 'https://192.0.2.10', '--username', 'admin', '--password-stdin', '--boot-mac', '52:54:00:12:34:56', '--label', 'topology.kubernetes.io/zone=a'],
      env,
      'cli-secret-pw\n',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toBe('host default/server-01 registered (Enrolling)\n');

    const table = await runCli(['host', 'list'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+STATE\s+POWER\s+CONTROL\s+BMC\s+MACHINE\s+AGE$/);
    expect(table.stdout).toMatch(/default\s+server-01\s+Enrolling\s+Unknown\s+redfish\s+https:\/\/192\.0\.2\.10\s+-/);

    const json = await runCli(['host', 'list', '--json', '--label', 'topology.kubernetes.io/zone=a'], env);
    const listed = JSON.parse(json.stdout) as { items: { name: string; bootMACAddresses: string[] }[] };
    expect(listed.items.map((h) => h.name)).toEqual(['server-01']);
    expect(listed.items[0]?.bootMACAddresses).toEqual(['52:54:00:12:34:56']);

    const show = await runCli(['host', 'show', 'default/server-01'], env);
    expect(show.stdout).toContain('name: server-01');
    expect(show.stdout).toContain('hasPassword: true');
    expect(show.stdout).not.toContain('cli-secret-pw');

    const edit = await runCli(['host', 'edit', 'server-01', '--label', 'role=worker', '--remove-label', 'topology.kubernetes.io/zone', '--insecure', 'true'], env);
    expect(edit.code, edit.stderr).toBe(0);
    const after = JSON.parse((await runCli(['host', 'show', 'server-01', '--json'], env)).stdout) as { labels: Record<string, string>; redfishConnection: { insecureSkipVerify: boolean } };
    expect(after.labels).toEqual({ role: 'worker' });
    expect(after.redfishConnection.insecureSkipVerify).toBe(true);

    const del = await runCli(['host', 'delete', 'server-01'], env);
    expect(del.stdout).toBe('host default/server-01 is being deleted: powered off, then forgotten (event Deleted)\n');
    const state = JSON.parse((await runCli(['host', 'show', 'server-01', '--json'], env)).stdout) as { status: { state: string } };
    expect(state.status.state).toBe('Deleting');
  });

  it('adds a host from a YAML file and reports validation errors field by field', async () => {
    const dir = tempDir();
    const file = join(dir, 'host.yaml');
    writeFileSync(file, 'namespace: lab\nname: nuc-1\npowerControl: wol\nbootMACAddresses: ["aa:bb:cc:00:00:01"]\n');
    const add = await runCli(['host', 'add', '-f', file], env);
    expect(add.code, add.stderr).toBe(0);
    const bad = await runCli(['host', 'add', 'bad-mac', '--bmc', 'https://192.0.2.1', '--username', 'a', '--boot-mac', 'zz'], { ...env, BESKAR7_BMC_PASSWORD: 'x' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('body.bootMACAddresses.0: must be a MAC address');
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists machines', async () => {
    const res = await fetch(`${daemon.url}/api/v1/machines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${daemon.token}`, 'content-type': 'application/json' },
      // A selector no host matches keeps it Pending: the lab hosts of other tests are Available.
      body: JSON.stringify({ name: 'worker-01', hostSelector: { matchLabels: { rack: 'nowhere' } }, image: { mode: 'disk', url: 'http://images.example/os.raw', sha256: 'f'.repeat(64) } }),
    });
    expect(res.status).toBe(201);
    const list = await runCli(['machine', 'list'], env);
    expect(list.stdout).toMatch(/default\s+worker-01\s+Pending\s+-\s+-/);
    const show = await runCli(['machine', 'show', 'worker-01', '--json'], env);
    expect(JSON.parse(show.stdout) as unknown).toMatchObject({ name: 'worker-01', status: { phase: 'Pending' } });
  });

  it('creates and deletes a machine from YAML, asks for an inspection and reads host logs', async () => {
    const file = join(tempDir(), 'machine.yaml');
    writeFileSync(file, "name: worker-02\nhostSelector:\n  matchLabels: {rack: nowhere}\nimage:\n  mode: disk\n  url: http://images.example/os.raw\n  sha256: '" + 'e'.repeat(64) + "'\n");
    const created = await runCli(['machine', 'create', '-f', file], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('machine default/worker-02 created (Pending)\n');
    const deleted = await runCli(['machine', 'delete', 'worker-02'], env);
    expect(deleted.stdout).toBe('machine default/worker-02 deleted\n');
    const missing = await runCli(['machine', 'create'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('needs -f FILE');
    // lab/nuc-1 (Wake-on-LAN, added above) is Available: an inspection can be asked for.
    const inspect = await runCli(['host', 'inspect', 'lab/nuc-1'], env);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain('inspection of lab/nuc-1 requested');
    const logs = await runCli(['host', 'logs', 'lab/nuc-1'], env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('');
  });

  it('says clearly what is wrong with usage, reachability and the CLI config file', async () => {
    const usage = await runCli(['host', 'add'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('name the host');
    const sneaky = await runCli(['host', 'delete', '../tokens/0123456789abcdef'], env);
    expect(sneaky.code).toBe(2);
    expect(sneaky.stderr).toContain('is not a host reference');
    const flag = await runCli(['host', 'list', '--colour'], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--colour'/);
    const unknown = await runCli(['hots', 'list'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
    const unreachable = await runCli(['host', 'list', '--url', 'http://127.0.0.1:1'], { BESKAR7_TOKEN: 'x' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach the daemon at http://127.0.0.1:1');

    const dir = tempDir();
    const cliConfig = join(dir, 'cli.yaml');
    writeFileSync(cliConfig, `url: ${daemon.url}\ntoken: ${daemon.token}\n`);
    const fromFile = await runCli(['host', 'list', '--json'], { BESKAR7_CLI_CONFIG: cliConfig });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    writeFileSync(cliConfig, 'url: not a url\n');
    const badFile = await runCli(['host', 'list'], { BESKAR7_CLI_CONFIG: cliConfig });
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toContain(`CLI config ${cliConfig}: url`);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('beskar7 config check and offline commands', () => {
  it('accepts a good config and shows where values came from', async () => {
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'http:\n  port: 9090\n');
    const res = await runCli(['config', 'check', '--config', file], { BESKAR7_LOG_LEVEL: 'warn' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('configuration is valid');
    expect(res.stdout).toContain(`http.port  ← config file ${file}`);
    expect(res.stdout).toContain('log.level  ← environment BESKAR7_LOG_LEVEL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a readable error, exit 2, for unreadable or invalid configuration', async () => {
    const dir = tempDir();
    const missing = await runCli(['config', 'check', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`beskar7 config check: cannot read config file ${join(dir, 'nope.yaml')}: no such file\n`);
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'http:\n  port: high\n  host: 127.0.0.1\n  host: twice\n');
    const duplicate = await runCli(['config', 'check', '--config', file]);
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toContain('is not valid YAML');
    writeFileSync(file, 'http:\n  port: high\n');
    const invalid = await runCli(['config', 'check', '--config', file]);
    expect(invalid.stderr).toContain(`http.port (from config file ${file}): Invalid input: expected number, received string`);
    const daemonRefuses = await runCli(['daemon', '--config', file]);
    expect(daemonRefuses.code).toBe(2);
    expect(daemonRefuses.stderr).toContain('http.port');
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a token offline and rotates keys against a data dir', async () => {
    const dir = tempDir();
    const created = await runCli(['token', 'create', '--name', 'bootstrap', '--offline', '--data-dir', dir, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const offline = JSON.parse(created.stdout) as { name: string; token: string };
    expect(offline.name).toBe('bootstrap');
    expect(offline.token).toMatch(/^b7_/);
    expect((await runCli(['keys', 'rotate', '--data-dir', dir])).code).toBe(0);
    const before = readdirSync(join(dir, 'keys'));
    expect(before).toHaveLength(1);
    const rotated = await runCli(['keys', 'rotate', '--data-dir', dir]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^new key k\d+[a-f0-9]{8}; re-sealed 0 secret\(s\); retired 1 key\(s\)/);
    expect(readdirSync(join(dir, 'keys'))).toHaveLength(1);
    expect(readdirSync(join(dir, 'keys'))).not.toEqual(before);
    const badName = await runCli(['token', 'create', '--name', 'bad/name<>', '--offline', '--data-dir', dir]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--name letters, digits');
    // A mistyped data dir is refused, not silently turned into a fresh installation.
    for (const args of [['token', 'list', '--offline'], ['keys', 'rotate']]) {
      const wrong = await runCli([...args, '--data-dir', join(dir, 'typo')]);
      expect(wrong.code, args.join(' ')).toBe(2);
      expect(wrong.stderr).toContain(`data directory ${join(dir, 'typo')} does not exist`);
    }
    chmodSync(join(dir, 'keys', readdirSync(join(dir, 'keys'))[0] as string), 0o640);
    const refused = await runCli(['keys', 'rotate', '--data-dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('readable by group or others');
    rmSync(dir, { recursive: true, force: true });
  });
});
