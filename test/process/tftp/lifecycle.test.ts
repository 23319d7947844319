// start/stop and configuration: the errors the daemon turns into "why TFTP did not start".

import dgram from 'node:dgram';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TftpServer, TftpStartError } from '../../../bootserver/tftp/index.js';
import { fixture, random, same, SERVER_DEFAULTS, waitFor } from './helpers.js';
import { RawClient, rawDownload } from './raw-client.js';

const fx = fixture('beskar7-tftp-lifecycle-');
fx.add('file.bin', random(1000));
afterAll(() => fx.cleanup());

const options = (overrides: Partial<ConstructorParameters<typeof TftpServer>[0]> = {}) => ({ ...SERVER_DEFAULTS, root: fx.root, ...overrides });

describe('start', () => {
  it('fails with code EADDRINUSE when the port is taken', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    try {
      const server = new TftpServer(options({ port: holder.address().port }));
      const error = await server.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TftpStartError);
      expect(error).toMatchObject({ code: 'EADDRINUSE' });
      expect((error as Error).message).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
      expect(() => server.address()).toThrow(/not started/);
    } finally {
      holder.close();
    }
  });

  it('fails with code EACCES on a privileged port without the privilege', async () => {
    // Root (or CAP_NET_BIND_SERVICE, or a lowered ip_unprivileged_port_start) may bind 69: then there is nothing to see.
    const server = new TftpServer(options({ port: 69 }));
    const error = await server.start().catch((e: unknown) => e);
    if (error === undefined) {
      await server.stop();
      return;
    }
    expect(error).toMatchObject({ code: expect.stringMatching(/^(EACCES|EADDRINUSE)$/) as string });
    if ((error as TftpStartError).code === 'EACCES') expect((error as Error).message).toContain('CAP_NET_BIND_SERVICE');
  });

  it('fails with ENOENT or ENOTDIR when the root is missing or a file', async () => {
    await expect(new TftpServer(options({ root: path.join(fx.root, 'missing') })).start()).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(new TftpServer(options({ root: path.join(fx.root, 'file.bin') })).start()).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('refuses out-of-range settings at construction', () => {
    for (const bad of [{ maxBlockSize: 7 }, { maxBlockSize: 65465 }, { maxWindowSize: 0 }, { timeoutMs: 0 }, { retries: -1 }, { maxTransfers: 0 }, { port: 70000 }, { root: '' }]) {
      expect(() => new TftpServer(options(bad)), JSON.stringify(bad)).toThrow(RangeError);
    }
  });

  it('cannot be started twice, and stops cleanly even when never started', async () => {
    const server = new TftpServer(options());
    await server.stop();
    await server.start();
    await expect(server.start()).rejects.toThrow(/already started/);
    await server.stop();
  });
});

describe('stop', () => {
  it('stops promptly with requests caught at every stage (resolving, opening, binding, sending)', async () => {
    const server = new TftpServer(options());
    await server.start();
    const port = server.address().port;
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.open()));
    try {
      await Promise.all(clients.map((c, i) => c.rrq(port, 'file.bin', i % 2 === 0 ? [['blksize', '512']] : [])));
      // Stop at staggered moments relative to the requests' progress.
      await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      await server.stop();
      expect(performance.now() - started).toBeLessThan(2000);
      expect(server.activeTransfers()).toBe(0);
    } finally {
      for (const c of clients) await c.close();
    }
  });
});

describe('observer', () => {
  it('an observer that throws cannot break a transfer', async () => {
    const boom = () => {
      throw new Error('observer bug');
    };
    const server = new TftpServer(options({ observer: { onTransferStart: boom, onTransferEnd: boom, onRefused: boom, onError: boom } }));
    await server.start();
    try {
      const result = await rawDownload(server.address().port, 'file.bin');
      expect(same(result.data, fx.files.get('file.bin'))).toBe(true);
      await waitFor(() => server.activeTransfers() === 0);
    } finally {
      await server.stop();
    }
  });

  it('reports start and end with the negotiated sizes, bytes and timing', async () => {
    const starts: unknown[] = [];
    const ends: unknown[] = [];
    const server = new TftpServer(options({ observer: { onTransferStart: (i) => starts.push(i), onTransferEnd: (i) => ends.push(i) } }));
    await server.start();
    try {
      const result = await rawDownload(server.address().port, '/file.bin', [['blksize', '100'], ['windowsize', '3']]);
      await waitFor(() => ends.length === 1);
      expect(starts).toEqual([{ client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as string, file: '/file.bin', port: result.serverTid, blockSize: 100, windowSize: 3, size: 1000 }]);
      expect(ends).toEqual([{ client: expect.any(String) as string, file: '/file.bin', bytes: 1000, ms: expect.any(Number) as number, ok: true, error: undefined }]);
    } finally {
      await server.stop();
    }
  });
});
