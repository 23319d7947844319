// Byte-identical downloads through the real clients PXE-adjacent tooling uses: tftp-hpa, atftp and curl.
// Sizes cover the protocol's edges: empty, one byte, exactly one block (an empty final block follows),
// several blocks, 1 MiB, and a file past 65535 blocks of 512 bytes (block-number rollover).

import { unlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromNetascii, toNetascii } from '../../../bootserver/tftp/netascii.js';
import { fixture, random, requireClient, run, sameBytes, startServer, type Running } from '../../process/tftp/helpers.js';

const MiB = 1024 * 1024;
/** 65,536 blocks of 512 bytes and then some: the block number wraps from 65535 to 0. */
const ROLLOVER_SIZE = 65_536 * 512 + 100 * 512 + 77;

const fx = fixture('beskar7-tftp-clients-');
let srv: Running;
let tftp = '';
let atftp = '';
let curl = '';

const SIZES: Record<string, number> = {
  'empty.bin': 0,
  'one.bin': 1,
  'block.bin': 512,
  'blocks.bin': 512 * 3,
  'mtu.bin': 1468 * 3,
  'r1m.bin': MiB,
  'odd.bin': MiB + 123,
};

beforeAll(async () => {
  // Fail loudly, before anything else: a missing client is a broken test machine, not a skip.
  tftp = requireClient('tftp');
  atftp = requireClient('atftp');
  curl = requireClient('curl');
  for (const [name, size] of Object.entries(SIZES)) fx.add(name, random(size));
  // Every byte netascii treats specially, in every neighbourhood, plus plain text.
  fx.add('text.txt', Buffer.concat([Buffer.from('line one\nline two\r\nbare cr\rnul after cr\r\0end\n'), Buffer.from([13, 10, 13, 13, 10, 10, 0, 13]), random(4096)]));
  fx.add('rollover.bin', random(ROLLOVER_SIZE));
  srv = await startServer(fx.root);
});

afterAll(async () => {
  await srv?.stop();
  fx.cleanup();
});

const expected = (name: string): Buffer => {
  const data = fx.files.get(name);
  if (!data) throw new Error(`fixture ${name} missing`);
  return data;
};

let counter = 0;
const outFile = (name: string): string => fx.out(`${++counter}-${name}`);

describe('tftp-hpa client (/usr/bin/tftp)', () => {
  for (const name of Object.keys(SIZES)) {
    it(`gets ${name} (${SIZES[name]} bytes) in binary mode`, async () => {
      const out = outFile(name);
      const result = await run(tftp, ['-m', 'binary', '127.0.0.1', String(srv.port), '-c', 'get', name, out]);
      expect(result.stdout + result.stderr).not.toMatch(/error/i);
      expect(await sameBytes(out, expected(name))).toBe(true);
    });
  }

  it('gets 1 MiB with -v and reports the size it received', async () => {
    const out = outFile('r1m.bin');
    const result = await run(tftp, ['-v', '-m', 'binary', '127.0.0.1', String(srv.port), '-c', 'get', 'r1m.bin', out]);
    expect(result.stdout).toContain(`Received ${MiB} bytes`);
    expect(await sameBytes(out, expected('r1m.bin'))).toBe(true);
  });

  it('gets the same bytes in its default netascii mode (the server encodes, the client decodes)', async () => {
    // The client's default mode is netascii; the round trip LF -> CR LF -> LF is exact on Unix.
    for (const name of ['text.txt', 'r1m.bin', 'block.bin']) {
      const out = outFile(name);
      const result = await run(tftp, ['127.0.0.1', String(srv.port), '-c', 'get', name, out]);
      expect(result.stdout + result.stderr).not.toMatch(/error/i);
      expect(await sameBytes(out, expected(name)), name).toBe(true);
    }
    expect(fromNetascii(toNetascii(expected('text.txt')))).toEqual(expected('text.txt'));
  });

  it('reports File not found for a missing file', async () => {
    const result = await run(tftp, ['-m', 'binary', '127.0.0.1', String(srv.port), '-c', 'get', 'missing.bin', outFile('missing')]);
    expect(result.stdout + result.stderr).toContain('Error code 1: File not found');
  });
});

describe('atftp client', () => {
  const get = (name: string, out: string, options: string[] = []) =>
    run(atftp, [...options.flatMap((option) => ['--option', option]), '-g', '-r', name, '-l', out, '127.0.0.1', String(srv.port)]);

  for (const name of Object.keys(SIZES)) {
    it(`gets ${name} without options, with blksize 1468, and with windowsize 8`, async () => {
      for (const options of [[], ['blksize 1468'], ['blksize 1468', 'windowsize 8']]) {
        const out = outFile(name);
        const result = await get(name, out, options);
        expect(result.code, `${options.join(', ')}: ${result.stderr}`).toBe(0);
        expect(await sameBytes(out, expected(name)), options.join(', ')).toBe(true);
      }
    });
  }

  it('is told the real size by tsize, and the clamped blksize and windowsize', async () => {
    const out = outFile('r1m.bin');
    const traced = await run(atftp, ['--trace', '--option', 'tsize 0', '--option', 'blksize 9000', '--option', 'windowsize 1000', '-g', '-r', 'r1m.bin', '-l', out, '127.0.0.1', String(srv.port)]);
    expect(traced.code, traced.stderr).toBe(0);
    const granted = /received OACK <([^>]*)>/.exec(traced.stdout + traced.stderr)?.[1] ?? '';
    expect(granted).toContain(`tsize: ${MiB}`);
    expect(granted).toContain('blksize: 1468');
    expect(granted).toContain('windowsize: 64');
    expect(await sameBytes(out, expected('r1m.bin'))).toBe(true);
  });

  it('fails on a missing file', async () => {
    const result = await get('missing.bin', outFile('missing'));
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('File not found');
  });
});

describe('curl (tftp:// URLs)', () => {
  const get = (name: string, out: string, args: string[] = []) => run(curl, ['-sS', ...args, '-o', out, `tftp://127.0.0.1:${srv.port}/${name}`]);

  for (const name of Object.keys(SIZES)) {
    it(`gets ${name} at the default block size, 1468, the minimum 8, and 65464 (clamped)`, async () => {
      // curl 7.88 rejects an OACK whose tsize is 0 ("invalid tsize"), tftpd-hpa's as well: empty files go without options.
      const base = name === 'empty.bin' ? ['--tftp-no-options'] : [];
      const variants = name === 'empty.bin' ? [[]] : [[], ['--tftp-blksize', '1468'], ['--tftp-blksize', '8'], ['--tftp-blksize', '65464']];
      for (const args of variants) {
        // 8-byte blocks of a 1 MiB file are 131k round trips: only on the small files.
        if (args[1] === '8' && SIZES[name]! > 8192) continue;
        const out = outFile(name);
        const result = await get(name, out, [...base, ...args]);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        expect(await sameBytes(out, expected(name)), args.join(' ')).toBe(true);
      }
    });
  }

  it('fails with curl error 68 (TFTP file not found) on a missing file', async () => {
    const result = await get('missing.bin', outFile('missing'));
    expect(result.code).toBe(68);
  });
});

describe('block-number rollover (more than 65535 blocks)', () => {
  it(`curl at blksize 512 gets ${ROLLOVER_SIZE} bytes intact`, { timeout: 120_000 }, async () => {
    const out = outFile('rollover.bin');
    const result = await run(curl, ['-sS', '--tftp-blksize', '512', '-o', out, `tftp://127.0.0.1:${srv.port}/rollover.bin`], 100_000);
    expect(result.code, result.stderr).toBe(0);
    expect(await sameBytes(out, expected('rollover.bin'))).toBe(true);
    unlinkSync(out);
  });

  it('atftp at blksize 512 with windowsize 16 gets it intact (windows straddle the wrap)', { timeout: 120_000 }, async () => {
    const out = outFile('rollover.bin');
    const result = await run(atftp, ['--option', 'blksize 512', '--option', 'windowsize 16', '-g', '-r', 'rollover.bin', '-l', out, '127.0.0.1', String(srv.port)], 100_000);
    expect(result.code, result.stderr).toBe(0);
    expect(await sameBytes(out, expected('rollover.bin'))).toBe(true);
    unlinkSync(out);
  });

  it('the server recorded every completed transfer as ok with the full byte count', () => {
    const rollovers = srv.events.ends.filter((end) => end.file === 'rollover.bin');
    expect(rollovers).toHaveLength(2);
    for (const end of rollovers) expect(end).toMatchObject({ ok: true, bytes: ROLLOVER_SIZE });
  });
});
