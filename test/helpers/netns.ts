import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Fails loudly (not a skip) when the machine cannot host namespace tests, saying how to fix it. */
export function requireNetnsTools(): void {
  if (process.getuid?.() !== 0) throw new Error('network-namespace tests need root (ip netns add); run npm run test:all as root, as CI does');
  for (const [bin, pkg] of [
    ['/usr/sbin/ip', 'iproute2'],
    ['/usr/bin/busybox', 'busybox-static'],
    ['/usr/bin/tftp', 'tftp-hpa'],
  ] as const) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr', ''))) throw new Error(`${bin} missing: apt-get install -y ${pkg}`);
  }
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class NsCommandError extends Error {
  constructor(
    readonly command: string[],
    readonly status: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${command.join(' ').slice(0, 200)} exited ${status}: ${stderr.trim().slice(0, 2000)}`);
  }
}

export function inNs(ns: string, command: string[], options: { input?: string; timeoutMs?: number } = {}): string {
  try {
    return execFileSync('ip', ['netns', 'exec', ns, ...command], {
      encoding: 'utf8',
      input: options.input,
      timeout: options.timeoutMs ?? 30_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as { status?: number | null; stdout?: string; stderr?: string };
    throw new NsCommandError(command, e.status ?? null, String(e.stdout ?? ''), String(e.stderr ?? ''));
  }
}

export function spawnInNs(ns: string, command: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Segment {
  prefix: string;
  /** The provisioning host: the bridge, with the daemon's address. */
  server: string;
  /** The site's own DHCP server. */
  dhcp: string;
  /** The booting machine. */
  client: string;
  serverAddress: string;
  dhcpAddress: string;
  clientInterface: string;
  destroy(): void;
}

/**
 * One layer-2 segment of three namespaces joined by a bridge in the server namespace:
 * 10.77.0.1 (daemon), 10.77.0.2 (site DHCP server), and a client NIC without an address.
 * Names carry the PID so parallel runs never collide.
 */
export function createSegment(): Segment {
  const prefix = `b7${process.pid}`;
  const server = `${prefix}s`;
  const dhcp = `${prefix}d`;
  const client = `${prefix}c`;
  const segment: Segment = {
    prefix,
    server,
    dhcp,
    client,
    serverAddress: '10.77.0.1',
    dhcpAddress: '10.77.0.2',
    clientInterface: 'eth0',
    destroy() {
      for (const ns of [server, dhcp, client]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // Already gone.
        }
      }
    },
  };
  try {
    for (const ns of [server, dhcp, client]) ip('netns', 'add', ns);
    inNs(server, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    inNs(server, ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'br0']);
    inNs(server, ['ip', 'link', 'set', 'br0', 'up']);
    inNs(server, ['ip', 'link', 'set', 'lo', 'up']);
    for (const [ns, port] of [
      [dhcp, 'pd'],
      [client, 'pc'],
    ] as const) {
      ip('link', 'add', `${prefix}${port}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('link', 'set', `${prefix}${port}`, 'netns', server);
      inNs(server, ['ip', 'link', 'set', `${prefix}${port}`, 'master', 'br0']);
      inNs(server, ['ip', 'link', 'set', `${prefix}${port}`, 'up']);
      inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
    inNs(dhcp, ['ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0']);
    // A firmware client has no address yet; the route lets a plain UDP socket send and
    // receive limited broadcasts on its one NIC, as the ROM's own stack does.
    inNs(client, ['ip', 'route', 'add', '255.255.255.255/32', 'dev', 'eth0']);
    inNs(client, ['ip', 'route', 'add', '10.77.0.0/24', 'dev', 'eth0']);
  } catch (error) {
    segment.destroy();
    throw error;
  }
  return segment;
}
