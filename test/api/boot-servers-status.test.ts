import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { startTestDaemon, tempDir } from '../helpers/daemon.js';

function statusLines(logs: { lines(): Record<string, unknown>[] }) {
  return logs.lines().filter((line) => line.server === 'proxyDHCP' || line.server === 'TFTP');
}

describe('boot servers at start-up', () => {
  it('say which run, where, and why the others do not', async () => {
    // A port another program holds without address reuse: TFTP must report it, not crash.
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(0, '127.0.0.1', resolve));
    const busyPort = squatter.address().port;
    const d = await startTestDaemon({
      overrides: ['dhcp.enabled=true', 'boot.provisioningNetwork=203.0.113.0/24', 'tftp.enabled=true', 'tftp.listenAddress=127.0.0.1', `tftp.port=${busyPort}`],
    });
    try {
      const [dhcp, tftp] = statusLines(d.logs);
      expect(dhcp).toMatchObject({ level: 'warn', server: 'proxyDHCP', msg: expect.stringContaining('proxyDHCP not running: no local IPv4 address on boot.provisioningNetwork 203.0.113.0/24') as unknown });
      expect(tftp).toMatchObject({ level: 'warn', server: 'TFTP', msg: `TFTP not running: UDP ${busyPort} is in use by another program that did not allow address reuse` });
      // The daemon itself is up: REST and HTTP boot do not need the UDP servers.
      expect((await fetch(`${d.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${d.url}/boot.ipxe`)).status).toBe(200);
    } finally {
      await d.stop();
      squatter.close();
    }
  });

  it('report a missing TFTP root and disabled servers', async () => {
    const d = await startTestDaemon({ overrides: ['tftp.enabled=true', 'tftp.root=/nonexistent/ipxe'] });
    try {
      const messages = statusLines(d.logs).map((line) => line.msg);
      expect(messages).toEqual([
        'proxyDHCP not running: disabled by dhcp.enabled',
        'TFTP not running: root /nonexistent/ipxe is not a directory (install the ipxe package, or set tftp.root)',
      ]);
    } finally {
      await d.stop();
    }
  });

  it('start TFTP on a free port and serve from the root', async () => {
    const root = tempDir('beskar7-tftp-root-');
    const d = await startTestDaemon({ overrides: ['tftp.enabled=true', 'tftp.listenAddress=127.0.0.1', 'tftp.port=0', `tftp.root=${root}`] });
    try {
      const tftp = statusLines(d.logs).find((line) => line.server === 'TFTP');
      expect(tftp).toMatchObject({ level: 'info', msg: 'TFTP running' });
      expect(String(tftp?.listen)).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+, root ${root}$`));
    } finally {
      await d.stop();
    }
  });
});
