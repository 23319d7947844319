import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetasciiEncoder, fromNetascii, toNetascii } from '../../../bootserver/tftp/netascii.js';
import { openSource } from '../../../bootserver/tftp/source.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'beskar7-tftp-netascii-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('netascii', () => {
  it('maps LF to CR LF and CR to CR NUL, and nothing else', () => {
    expect(toNetascii(Buffer.from('a\nb\rc\r\nd'))).toEqual(Buffer.from('a\r\nb\r\0c\r\0\r\nd', 'latin1'));
    expect(toNetascii(Buffer.from([0, 1, 255]))).toEqual(Buffer.from([0, 1, 255]));
    expect(toNetascii(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
  });

  it('round-trips any bytes through the client-side decoding', () => {
    const all = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    expect(fromNetascii(toNetascii(all))).toEqual(all);
    const worst = Buffer.alloc(1000, 0x0a);
    expect(toNetascii(worst).length).toBe(2000);
    expect(fromNetascii(toNetascii(worst))).toEqual(worst);
  });

  it('carries the second byte of an expansion across output boundaries', () => {
    const input = Buffer.from('\n\r\nx\r');
    for (let size = 1; size <= 4; size++) {
      const encoder = new NetasciiEncoder();
      const parts: Buffer[] = [];
      let at = 0;
      for (let guard = 0; guard < 100; guard++) {
        const out = Buffer.alloc(size);
        const { consumed, written } = encoder.encode(input, at, input.length, out, 0, size);
        at += consumed;
        parts.push(out.subarray(0, written));
        if (at === input.length && !encoder.pending) break;
      }
      expect(Buffer.concat(parts), `output size ${size}`).toEqual(toNetascii(input));
    }
  });

  it('streams a file in netascii blocks of any size, through read-ahead chunk boundaries', async () => {
    const data = Buffer.concat([Buffer.alloc(70_000, 0x41), Buffer.from('\r\n\n\r'), Buffer.alloc(65_535, 0x0a), Buffer.from('end')]);
    const file = path.join(dir, 'text');
    writeFileSync(file, data);
    for (const blockSize of [8, 512, 1468, 65464]) {
      const opened = await openSource(file, dir, 'netascii', blockSize);
      if (!opened.ok) throw new Error(opened.reason);
      const blocks: Buffer[] = [];
      for (;;) {
        const block = Buffer.alloc(blockSize);
        const n = await opened.source.read(block, 0, blockSize);
        blocks.push(block.subarray(0, n));
        if (n < blockSize) break;
      }
      await opened.source.close();
      expect(Buffer.concat(blocks).equals(toNetascii(data)), `blksize ${blockSize}`).toBe(true);
    }
  });
});
