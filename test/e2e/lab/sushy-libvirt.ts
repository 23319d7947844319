import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNamespace } from '../../helpers/child.js';
import { nsHttp } from '../../helpers/ns-http.js';
import { OVMF_CODE, OVMF_VARS } from './domain.js';
import { startTimedProcess, type TimedProcess } from './timed-process.js';

export interface SushyBmc {
  url: string;
  username: string;
  password: string;
  process: TimedProcess;
  stop(): Promise<void>;
}

/**
 * sushy-tools' emulator with its libvirt driver, the BMC of a libvirt lab, inside the provisioning
 * namespace. It sees only the listed domains; Basic auth from a bcrypt htpasswd.
 */
export async function startSushyLibvirt(options: { namespace: string; address: string; port: number; libvirtUri: string; domains: string[]; dir: string; signal: AbortSignal }): Promise<SushyBmc> {
  const username = 'lab-admin';
  const password = `lab-${process.pid}-redfish`;
  const hash = execFileSync('python3', ['-c', 'import bcrypt,sys; sys.stdout.write(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt()).decode())', password], { encoding: 'utf8' });
  const htpasswd = join(options.dir, 'sushy.htpasswd');
  writeFileSync(htpasswd, `${username}:${hash}\n`, { mode: 0o600 });
  const config = join(options.dir, 'sushy.conf');
  const py = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  writeFileSync(
    config,
    `SUSHY_EMULATOR_LISTEN_IP = ${py(options.address)}
SUSHY_EMULATOR_LISTEN_PORT = ${options.port}
SUSHY_EMULATOR_LIBVIRT_URI = ${py(options.libvirtUri)}
SUSHY_EMULATOR_AUTH_FILE = ${py(htpasswd)}
SUSHY_EMULATOR_ALLOWED_INSTANCES = [${options.domains.map(py).join(', ')}]
SUSHY_EMULATOR_BOOT_LOADER_MAP = {'UEFI': {'x86_64': ${py(OVMF_CODE)}}, 'Legacy': {'x86_64': None}}
SUSHY_EMULATOR_SECURE_BOOT_DISABLED_NVRAM = ${py(OVMF_VARS)}
SUSHY_EMULATOR_IGNORE_BOOT_DEVICE = False
`,
  );
  const child = startTimedProcess('sushy-emulator', inNamespace(options.namespace, ['sushy-emulator', '--config', config]), { logFile: join(options.dir, 'sushy-emulator.log') });
  const url = `http://${options.address}:${options.port}`;
  const stop = async () => void (await child.stop(5000));
  try {
    const until = Date.now() + 60_000;
    for (;;) {
      if (child.exit()) throw new Error(`sushy-emulator exited during start\n${child.tail()}`);
      const answer = await nsHttp(options.namespace, `${url}/redfish/v1/`, { timeoutMs: 2000, signal: options.signal });
      if (answer.status === 200) break;
      if (Date.now() > until) throw new Error(`sushy-emulator did not answer within 60 s\n${child.tail()}`);
      await child.waitForLine(/./, 500, child.lines.length).catch(() => undefined);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, username, password, process: child, stop };
}
