// The transfer state machine seen from a raw client that controls every packet: retransmission on
// timeout, no answer to duplicate ACKs (RFC 1123 4.2.3.1), giving up after the retries, foreign TIDs
// (RFC 1350), OACK negotiation, RFC 7440 windows, rollover and the concurrency bound.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeAck, encodeError } from '../../../bootserver/tftp/packet.js';
import { fixture, random, same, startServer, type Running } from './helpers.js';
import { RawClient, rawDownload } from './raw-client.js';

const TIMEOUT_MS = 300;
/** For "nothing may arrive" checks: a timer far beyond the observation window, so a slow machine cannot fake a failure. */
const CALM_TIMEOUT_MS = 5000;
const QUIET_MS = 300;
const fx = fixture('beskar7-tftp-protocol-');
let srv: Running;
let calm: Running;
const clients: RawClient[] = [];

async function client(): Promise<RawClient> {
  const c = await RawClient.open();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  fx.add('small.bin', random(2000)); // 4 blocks of 512: 512, 512, 512, 464
  fx.add('hundred.bin', random(100));
  fx.add('r1m.bin', random(1024 * 1024));
  // 65,540 blocks of 8 bytes and a short one: the raw client crosses the 16-bit wrap.
  fx.add('wrap.bin', random(65_540 * 8 + 3));
  srv = await startServer(fx.root, { timeoutMs: TIMEOUT_MS, retries: 3, maxBlockSize: 1468 });
  calm = await startServer(fx.root, { timeoutMs: CALM_TIMEOUT_MS, retries: 3, maxBlockSize: 1468 });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

afterAll(async () => {
  await srv?.stop();
  await calm?.stop();
  fx.cleanup();
});

describe('retransmission', () => {
  it('re-sends DATA 1 after the timeout when its ACK is dropped, then carries on', async () => {
    const c = await client();
    await c.rrq(srv.port, 'small.bin');
    const first = await c.next(2000);
    expect(first?.packet).toMatchObject({ op: 'data', block: 1 });
    // Drop the ACK: the same block must come again, from the same TID, one timeout later.
    const again = await c.next(3000);
    expect(again?.packet).toMatchObject({ op: 'data', block: 1 });
    expect(again?.from.port).toBe(first?.from.port);
    const gap = (again?.at ?? 0) - (first?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(gap).toBeLessThan(TIMEOUT_MS * 4);
    expect(again?.raw).toEqual(first?.raw);
    await c.send(encodeAck(1), first?.from.port ?? 0);
    expect((await c.next(2000))?.packet).toMatchObject({ op: 'data', block: 2 });
  });

  it('does not answer duplicate ACKs (no Sorcerer\'s Apprentice): one DATA per new ACK', async () => {
    const c = await client();
    await c.rrq(calm.port, 'small.bin');
    const d1 = await c.next(2000);
    const tid = d1?.from.port ?? 0;
    await c.send(encodeAck(1), tid);
    expect((await c.next(2000))?.packet).toMatchObject({ op: 'data', block: 2 });
    // Three more ACK 1s, as a delayed-DATA echo would produce: nothing may come back before the timer.
    for (let i = 0; i < 3; i++) await c.send(encodeAck(1), tid);
    expect(await c.drain(QUIET_MS)).toEqual([]);
    await c.send(encodeAck(2), tid);
    await c.send(encodeAck(2), tid);
    const after = await c.drain(QUIET_MS);
    expect(after.map((r) => r.packet)).toEqual([expect.objectContaining({ op: 'data', block: 3 })]);
    await c.send(encodeAck(3), tid);
    const last = await c.next(2000);
    expect(last?.packet).toMatchObject({ op: 'data', block: 4 });
    expect(last?.raw.length).toBe(4 + 464);
    await c.send(encodeAck(4), tid);
    expect(await c.drain(QUIET_MS)).toEqual([]);
  });

  it('gives up after the configured retries with ERROR 0 and reports the failure', async () => {
    const c = await client();
    await c.rrq(srv.port, 'hundred.bin');
    const sends = await c.drain(TIMEOUT_MS * 6);
    const data = sends.filter((r) => r.packet?.op === 'data');
    // The first send and 3 retries, then the farewell.
    expect(data).toHaveLength(4);
    expect(sends.at(-1)?.packet).toMatchObject({ op: 'error', code: 0, message: 'Timeout' });
    const end = srv.events.ends.find((e) => e.client === `127.0.0.1:${c.port}`);
    expect(end).toMatchObject({ ok: false, bytes: 0, file: 'hundred.bin' });
    expect(end?.error).toMatch(/no ACK/);
  });

  it('ends the transfer quietly when the client sends ERROR', async () => {
    const c = await client();
    await c.rrq(srv.port, 'small.bin', [['tsize', '0']]);
    const oack = await c.next(2000);
    expect(oack?.packet).toEqual({ op: 'oack', options: [['tsize', '2000']] });
    // PXE ROMs probe the size this way and abort.
    await c.send(encodeError(8, 'just wanted the size'), oack?.from.port ?? 0);
    expect(await c.drain(TIMEOUT_MS * 2)).toEqual([]);
    const end = srv.events.ends.find((e) => e.client === `127.0.0.1:${c.port}`);
    expect(end?.ok).toBe(false);
    expect(end?.error).toContain('just wanted the size');
  });

  it('handles the PXE pattern: tsize probe, abort, second request from the same port', async () => {
    const c = await client();
    await c.rrq(srv.port, 'hundred.bin', [['tsize', '0']]);
    const oack = await c.next(2000);
    await c.send(encodeError(0, 'abort'), oack?.from.port ?? 0);
    await c.rrq(srv.port, 'hundred.bin', [['blksize', '1456']]);
    const second = await c.next(2000);
    expect(second?.packet).toEqual({ op: 'oack', options: [['blksize', '1456']] });
    await c.send(encodeAck(0), second?.from.port ?? 0);
    const data = await c.next(2000);
    expect(data?.packet).toMatchObject({ op: 'data', block: 1 });
    expect(data?.raw.length).toBe(104);
    await c.send(encodeAck(1), second?.from.port ?? 0);
  });

  it('ignores a retransmitted RRQ while the transfer for it runs', async () => {
    const c = await client();
    await c.rrq(calm.port, 'small.bin');
    await c.rrq(calm.port, 'small.bin');
    const got = await c.drain(QUIET_MS);
    expect(got).toHaveLength(1);
    expect(got[0]?.packet).toMatchObject({ op: 'data', block: 1 });
  });
});

describe('transfer IDs (RFC 1350)', () => {
  it('answers a packet from a foreign port with ERROR 5 to that port, and the transfer completes', async () => {
    const c = await client();
    const stranger = await client();
    await c.rrq(calm.port, 'small.bin');
    const d1 = await c.next(2000);
    const tid = d1?.from.port ?? 0;
    await stranger.send(encodeAck(1), tid);
    const reply = await stranger.next(2000);
    expect(reply?.packet).toEqual({ op: 'error', code: 5, message: 'Unknown transfer ID' });
    expect(reply?.from.port).toBe(tid);
    // The stranger's ACK 1 must not have advanced the transfer: the client still gets block 1 again later, not 2.
    expect(await c.drain(QUIET_MS)).toEqual([]);
    const chunks: Buffer[] = [d1?.raw.subarray(4) ?? Buffer.alloc(0)];
    for (let block = 1; ; block++) {
      await c.send(encodeAck(block), tid);
      const next = await c.next(2000);
      if (next?.packet?.op !== 'data') throw new Error(`expected DATA ${block + 1}, got ${next?.packet?.op}`);
      expect(next.packet.block).toBe(block + 1);
      chunks.push(next.packet.data);
      if (next.packet.data.length < 512) {
        await c.send(encodeAck(block + 1), tid);
        break;
      }
    }
    expect(same(Buffer.concat(chunks), fx.files.get('small.bin'))).toBe(true);
  });

  it('never answers an ERROR from a foreign port', async () => {
    const c = await client();
    const stranger = await client();
    await c.rrq(srv.port, 'small.bin');
    const d1 = await c.next(2000);
    await stranger.send(encodeError(0, 'noise'), d1?.from.port ?? 0);
    expect(await stranger.drain(TIMEOUT_MS / 2)).toEqual([]);
    await c.send(encodeAck(1), d1?.from.port ?? 0);
    expect((await c.next(2000))?.packet).toMatchObject({ op: 'data', block: 2 });
  });
});

describe('options and windows', () => {
  it('negotiates blksize, timeout, tsize and windowsize in one OACK, ignoring unknown options', async () => {
    const result = await rawDownload(srv.port, 'r1m.bin', [
      ['blksize', '1024'],
      ['timeout', '2'],
      ['tsize', '0'],
      ['windowsize', '16'],
      ['multicast', ''],
    ]);
    expect(result.oack).toEqual([
      ['blksize', '1024'],
      ['timeout', '2'],
      ['tsize', String(1024 * 1024)],
      ['windowsize', '16'],
    ]);
    expect(same(result.data, fx.files.get('r1m.bin'))).toBe(true);
    expect(result.duplicates).toBe(0);
  });

  it('restarts the window after an ACK from its middle (RFC 7440)', async () => {
    const c = await client();
    await c.rrq(calm.port, 'hundred.bin', [['blksize', '8'], ['windowsize', '4']]);
    const oack = await c.next(2000);
    const tid = oack?.from.port ?? 0;
    await c.send(encodeAck(0), tid);
    const blocks = async (count: number) => {
      const got: number[] = [];
      for (let i = 0; i < count; i++) {
        const r = await c.next(2000);
        if (r?.packet?.op === 'data') got.push(r.packet.block);
      }
      return got;
    };
    expect(await blocks(4)).toEqual([1, 2, 3, 4]);
    await c.send(encodeAck(2), tid); // "3 went missing"
    expect(await blocks(4)).toEqual([3, 4, 5, 6]);
    await c.send(encodeAck(6), tid);
    expect(await blocks(4)).toEqual([7, 8, 9, 10]);
    // A duplicate of an old ACK changes nothing.
    await c.send(encodeAck(6), tid);
    expect(await c.drain(QUIET_MS)).toEqual([]);
    await c.send(encodeAck(10), tid);
    // 100 bytes / 8 = 12 full blocks and a 4-byte 13th.
    expect(await blocks(3)).toEqual([11, 12, 13]);
    await c.send(encodeAck(13), tid);
    expect(await c.drain(QUIET_MS)).toEqual([]);
  });

  it('rolls block numbers over from 65535 to 0 (blksize 8, 65,541 blocks)', { timeout: 60_000 }, async () => {
    const result = await rawDownload(srv.port, 'wrap.bin', [['blksize', '8'], ['windowsize', '64']]);
    expect(same(result.data, fx.files.get('wrap.bin'))).toBe(true);
    expect(result.dataPackets).toBe(65_541);
  });

  it('is lockstep without options: 512-byte blocks, no OACK', async () => {
    const result = await rawDownload(srv.port, 'small.bin');
    expect(result.oack).toBeUndefined();
    expect(result.dataPackets).toBe(4);
    expect(same(result.data, fx.files.get('small.bin'))).toBe(true);
  });
});

describe('concurrency bound', () => {
  it('answers requests beyond maxTransfers with ERROR 0 "Server busy" and accepts again once a slot frees', async () => {
    const bounded = await startServer(fx.root, { maxTransfers: 2, timeoutMs: 5000 });
    try {
      const [a, b, c] = [await client(), await client(), await client()];
      await a.rrq(bounded.port, 'small.bin');
      await b.rrq(bounded.port, 'small.bin');
      const da = await a.next(2000);
      expect(da?.packet).toMatchObject({ op: 'data', block: 1 });
      expect((await b.next(2000))?.packet).toMatchObject({ op: 'data', block: 1 });
      await c.rrq(bounded.port, 'small.bin');
      expect((await c.next(2000))?.packet).toEqual({ op: 'error', code: 0, message: 'Server busy, try again later' });
      expect(bounded.events.refusals.map((r) => r.reason)).toEqual(['too-many-transfers']);
      await a.send(encodeError(0, 'done'), da?.from.port ?? 0);
      // The slot frees as soon as the server reads that ERROR; poll rather than guess.
      for (let i = 0; i < 50 && bounded.server.activeTransfers() > 1; i++) await new Promise((r) => setTimeout(r, 10));
      await c.rrq(bounded.port, 'hundred.bin');
      expect((await c.next(2000))?.packet).toMatchObject({ op: 'data', block: 1 });
    } finally {
      await bounded.stop();
    }
  });

  it('stop() closes every transfer socket and tells clients', async () => {
    const other = await startServer(fx.root);
    const c = await client();
    await c.rrq(other.port, 'r1m.bin');
    const d1 = await c.next(2000);
    expect(d1?.packet).toMatchObject({ op: 'data', block: 1 });
    await other.stop();
    expect((await c.next(2000))?.packet).toMatchObject({ op: 'error', code: 0, message: 'Server shutting down' });
    expect(other.server.activeTransfers()).toBe(0);
    expect(() => other.server.address()).toThrow(/not started/);
    // Nothing listens on the transfer port any more.
    await c.send(encodeAck(1), d1?.from.port ?? 0);
    expect(await c.drain(200)).toEqual([]);
  });
});
