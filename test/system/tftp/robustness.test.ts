// Garbage on the wire while real clients download: random bytes, truncated and mutated requests and
// maximum-size datagrams, at the listen port and at the port of a transfer in flight. The downloads
// must complete byte-identical and the server must keep answering.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAck, encodeRequest } from '../../../bootserver/tftp/packet.js';
import { fixture, random, requireClient, run, same, sameBytes, startServer, type Running } from '../../process/tftp/helpers.js';
import { RawClient, rawDownload } from '../../process/tftp/raw-client.js';

const fx = fixture('beskar7-tftp-robust-');
let srv: Running;
let curl = '';
let atftp = '';
/** Largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;

beforeAll(async () => {
  curl = requireClient('curl');
  atftp = requireClient('atftp');
  fx.add('big.bin', random(12 * 1024 * 1024));
  fx.add('small.bin', random(3000));
  srv = await startServer(fx.root);
});

afterAll(async () => {
  await srv?.stop();
  fx.cleanup();
});

/** One garbage datagram of several kinds; none of them is a request the server could serve. */
function garbage(i: number): Buffer {
  switch (i % 8) {
    case 0:
      return randomBytes(1 + (i % 700));
    case 1:
      return randomBytes(i % 4); // 0..3 bytes: shorter than any header
    case 2: {
      const rrq = encodeRequest('rrq', 'nonexistent.bin', 'octet', [['blksize', '1468']]);
      return rrq.subarray(0, i % rrq.length); // truncated request
    }
    case 3: {
      const rrq = Buffer.from(encodeRequest('rrq', 'nonexistent-file', 'octet'));
      const at = 2 + (i % (rrq.length - 2));
      rrq[at] = (rrq[at] ?? 0) ^ 0xff; // mutated request
      return rrq;
    }
    case 4:
      return Buffer.concat([Buffer.from([0, 7 + (i % 200)]), randomBytes(20)]); // unknown opcode
    case 5:
      return i % 40 === 5 ? randomBytes(MAX_DATAGRAM) : Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(300, 0x41)]); // huge / unterminated
    case 6:
      return encodeAck(i & 0xffff); // ACKs and DATA where no transfer expects them
    default:
      return Buffer.concat([Buffer.from([0, 3, 0, 1]), randomBytes(512)]);
  }
}

async function flood(sender: RawClient, port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await sender.send(garbage(i), port);
    // Yield now and then so the flood interleaves with the transfer instead of preceding it.
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('garbage during downloads', () => {
  it('curl and atftp downloads complete intact while the listen port and the transfer ports are flooded', { timeout: 90_000 }, async () => {
    const listenFlooder = await RawClient.open();
    const tidFlooder = await RawClient.open();
    try {
      const curlOut = fx.out('curl-big.bin');
      const atftpOut = fx.out('atftp-big.bin');
      const curlStarted = srv.events.nextStart('big.bin');
      const curlRun = run(curl, ['-sS', '--tftp-blksize', '512', '-o', curlOut, `tftp://127.0.0.1:${srv.port}/big.bin`], 80_000);
      const first = await curlStarted;
      const atftpStarted = srv.events.nextStart('big.bin');
      const atftpRun = run(atftp, ['--option', 'blksize 1024', '--option', 'windowsize 4', '-g', '-r', 'big.bin', '-l', atftpOut, '127.0.0.1', String(srv.port)], 80_000);
      const second = await atftpStarted;
      await Promise.all([flood(listenFlooder, srv.port, 3000), flood(tidFlooder, first.port, 1500), flood(tidFlooder, second.port, 1500)]);
      const [curlResult, atftpResult] = await Promise.all([curlRun, atftpRun]);
      expect(curlResult.code, curlResult.stderr).toBe(0);
      expect(atftpResult.code, atftpResult.stderr).toBe(0);
      expect(await sameBytes(curlOut, fx.files.get('big.bin') ?? Buffer.alloc(0))).toBe(true);
      expect(await sameBytes(atftpOut, fx.files.get('big.bin') ?? Buffer.alloc(0))).toBe(true);

      // The flooder heard ERROR 5 from the transfer ports (rate-limited, so not one per datagram).
      const replies = await tidFlooder.drain(300);
      const unknownTid = replies.filter((r) => r.packet?.op === 'error' && r.packet.code === 5);
      expect(unknownTid.length).toBeGreaterThan(0);
      expect(new Set(unknownTid.map((r) => r.from.port))).toEqual(new Set([first.port, second.port]));
      // And refusals from the listen port, never a DATA.
      const listenReplies = await listenFlooder.drain(300);
      expect(listenReplies.length).toBeGreaterThan(0);
      expect(listenReplies.every((r) => r.packet?.op === 'error')).toBe(true);
      expect(srv.events.refusals.some((r) => r.reason === 'malformed')).toBe(true);
      expect(srv.events.refusals.some((r) => r.reason === 'unknown-opcode')).toBe(true);
    } finally {
      await listenFlooder.close();
      await tidFlooder.close();
    }
  });

  it('still serves new requests afterwards', async () => {
    const result = await rawDownload(srv.port, 'small.bin', [['blksize', '1468']]);
    expect(same(result.data, fx.files.get('small.bin'))).toBe(true);
  });

  it('survives a datagram of every length from 0 to 600 bytes of zeros and of 0xff', async () => {
    const sender = await RawClient.open();
    try {
      for (let length = 0; length <= 600; length++) {
        await sender.send(Buffer.alloc(length, 0), srv.port);
        await sender.send(Buffer.alloc(length, 0xff), srv.port);
      }
    } finally {
      await sender.close();
    }
    // The flood can fill the listen socket's receive queue and cost the first RRQ: re-send it soon.
    const result = await rawDownload(srv.port, 'small.bin', [], 300, 20);
    expect(same(result.data, fx.files.get('small.bin'))).toBe(true);
  });
});
