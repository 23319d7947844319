import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface SushyEmulator {
  url: string;
  username: string;
  password: string;
  process: ChildProcess;
  stop(): Promise<void>;
}


/**
 * sushy-tools' emulator (the BMC of libvirt labs) with its fake driver: two systems, "fake"
 * (Off) and "fake2" (On), Basic auth from a bcrypt htpasswd, on loopback.
 */
export async function startSushyEmulator(dir: string): Promise<SushyEmulator> {
  const port = await freePort();
  const username = 'admin';
  const password = 'sushy-pw-0517';
  const hash = execFileSync('python3', ['-c', `import bcrypt,sys; sys.stdout.write(bcrypt.hashpw(b"${password}", bcrypt.gensalt()).decode())`], { encoding: 'utf8' });
  writeFileSync(join(dir, 'htpasswd'), `${username}:${hash}\n`);
  writeFileSync(
    join(dir, 'emulator.conf'),
    `SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'
SUSHY_EMULATOR_LISTEN_PORT = ${port}
SUSHY_EMULATOR_FAKE_DRIVER = True
SUSHY_EMULATOR_NO_MEMOIZE = True
SUSHY_EMULATOR_AUTH_FILE = '${join(dir, 'htpasswd')}'
SUSHY_EMULATOR_FAKE_SYSTEMS = [
    {'uuid': '27946b59-9e44-4fa7-8e91-f3527a1ef094', 'name': 'fake', 'power_state': 'Off', 'external_notifier': False,
     'nics': [{'mac': '00:5c:52:31:3a:9c', 'ip': '172.22.0.100'}]},
    {'uuid': '48295eb1-4a1d-4a9b-9a2b-7c1c1e0d2f11', 'name': 'fake2', 'power_state': 'On', 'external_notifier': False,
     'nics': [{'mac': '00:5c:52:31:3a:9d', 'ip': '172.22.0.101'}]},
]
`,
  );
  const child = spawn('sushy-emulator', ['--config', join(dir, 'emulator.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  child.stdout?.on('data', (c: Buffer) => logs.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
  // Ready when the service root answers; bounded.
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sushy-emulator exited (${child.exitCode}):\n${logs.join('')}`);
    try {
      const res = await fetch(`${url}/redfish/v1/`);
      if (res.status < 500) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`sushy-emulator did not answer within 30 s:\n${logs.join('')}`);
    }
    // Next try when it prints something (it logs when it starts listening), at the latest in 250 ms.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 250);
      child.stderr?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return {
    url,
    username,
    password,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await new Promise((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
    },
  };
}
