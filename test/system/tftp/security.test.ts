// What a read-only boot server must refuse: escapes from the root by "..", absolute names and
// symlinks, non-files, uploads, and modes other than octet/netascii.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../../bootserver/tftp/packet.js';
import { fixture, random, requireClient, run, sameBytes, startServer, type Running } from '../../process/tftp/helpers.js';
import { RawClient } from '../../process/tftp/raw-client.js';

const fx = fixture('beskar7-tftp-security-');
let srv: Running;
let tftp = '';
const SECRET = Buffer.from('outside secret\n');

beforeAll(async () => {
  tftp = requireClient('tftp');
  fx.add('ipxe.efi', random(4096));
  mkdirSync(path.join(fx.root, 'sub'));
  fx.add('sub/inner.bin', random(100));
  writeFileSync(path.join(fx.outside, 'secret.txt'), SECRET);
  mkdirSync(path.join(fx.outside, 'dir'));
  writeFileSync(path.join(fx.outside, 'dir', 'file.txt'), SECRET);
  symlinkSync('/etc/passwd', path.join(fx.root, 'passwd-link'));
  symlinkSync(path.join(fx.outside, 'secret.txt'), path.join(fx.root, 'secret-link'));
  symlinkSync(path.join(fx.outside, 'dir'), path.join(fx.root, 'outdir'));
  symlinkSync('../outside/secret.txt', path.join(fx.root, 'relative-escape'));
  // Links that stay inside the root are fine: distributions symlink iPXE binaries.
  symlinkSync('ipxe.efi', path.join(fx.root, 'snponly.efi'));
  symlinkSync('sub', path.join(fx.root, 'sublink'));
  // node has no mkfifo(3); coreutils' is everywhere tftp-hpa is.
  execFileSync('mkfifo', [path.join(fx.root, 'fifo')]);
  srv = await startServer(fx.root);
});

afterAll(async () => {
  await srv?.stop();
  fx.cleanup();
});

/** Sends one RRQ from a fresh port and returns the server's first answer. */
async function ask(file: string, op: 'rrq' | 'wrq' = 'rrq', mode = 'octet') {
  const client = await RawClient.open();
  try {
    await client.send(encodeRequest(op, file, mode), srv.port);
    return await client.next(3000);
  } finally {
    await client.close();
  }
}

describe('path confinement', () => {
  const refused: [string, number, string][] = [
    ['../../etc/passwd', 2, 'outside-root'],
    ['../outside/secret.txt', 2, 'outside-root'],
    ['sub/../../outside/secret.txt', 2, 'outside-root'],
    ['..\\..\\etc\\passwd', 2, 'outside-root'],
    ['//etc/passwd', 2, 'outside-root'],
    ['/etc/passwd', 1, 'not-found'], // one slash is stripped: root/etc/passwd, which does not exist
    ['passwd-link', 2, 'outside-root'],
    ['secret-link', 2, 'outside-root'],
    ['relative-escape', 2, 'outside-root'],
    ['outdir/file.txt', 2, 'outside-root'],
    ['sub', 1, 'not-a-file'],
    ['/', 1, 'not-a-file'],
    ['fifo', 1, 'not-a-file'],
    ['', 2, 'invalid-name'],
    ['bad\x01name', 2, 'invalid-name'],
  ];
  for (const [file, code, reason] of refused) {
    it(`refuses ${JSON.stringify(file)} with ERROR ${code} (${reason})`, async () => {
      const answer = await ask(file);
      expect(answer?.packet).toMatchObject({ op: 'error', code });
      expect(srv.events.refusals.some((r) => r.reason === reason && r.file === file)).toBe(true);
    });
  }

  it('never sent a byte of anything outside the root', () => {
    expect(srv.events.starts.filter((s) => /passwd|secret|outdir|escape/.test(s.file))).toEqual([]);
  });

  const allowed: [string, string][] = [
    ['/ipxe.efi', 'ipxe.efi'],
    ['snponly.efi', 'ipxe.efi'],
    ['sublink/inner.bin', 'sub/inner.bin'],
    ['sub\\inner.bin', 'sub/inner.bin'],
    ['./sub//inner.bin', 'sub/inner.bin'],
  ];
  for (const [file, real] of allowed) {
    it(`serves ${JSON.stringify(file)} as ${real}`, async () => {
      const out = fx.out(`allowed-${real.replace('/', '_')}-${Math.random()}`);
      // tftp-hpa sends the name verbatim (curl would drop the leading slash).
      const result = await run(tftp, ['-m', 'binary', '127.0.0.1', String(srv.port), '-c', 'get', file, out]);
      expect(result.stdout + result.stderr).not.toMatch(/error/i);
      expect(await sameBytes(out, fx.files.get(real) ?? Buffer.alloc(0))).toBe(true);
    });
  }

  it('tftp-hpa is refused ../../etc/passwd and /etc/passwd, and writes nothing from them', async () => {
    for (const file of ['../../etc/passwd', '/etc/passwd']) {
      const out = fx.out(`hpa-${Math.random()}`);
      const result = await run(tftp, ['-m', 'binary', '127.0.0.1', String(srv.port), '-c', 'get', file, out]);
      expect(result.stdout + result.stderr).toMatch(/Error code [12]/);
      expect(await sameBytes(out, SECRET)).toBe(false);
    }
  });
});

describe('read-only', () => {
  it('refuses a tftp-hpa put with ERROR 2 and creates nothing', async () => {
    const local = fx.out('upload.bin');
    writeFileSync(local, random(2000));
    const result = await run(tftp, ['-m', 'binary', '127.0.0.1', String(srv.port), '-c', 'put', local, 'uploaded.bin']);
    expect(result.stdout + result.stderr).toContain('Error code 2: Read-only server');
    expect(existsSync(path.join(fx.root, 'uploaded.bin'))).toBe(false);
    expect(srv.events.refusals.some((r) => r.reason === 'write-request' && r.file === 'uploaded.bin')).toBe(true);
  });

  it('refuses a WRQ for an existing file, which stays unchanged', async () => {
    const answer = await ask('ipxe.efi', 'wrq');
    expect(answer?.packet).toMatchObject({ op: 'error', code: 2 });
    expect(await sameBytes(path.join(fx.root, 'ipxe.efi'), fx.files.get('ipxe.efi') ?? Buffer.alloc(0))).toBe(true);
  });
});

describe('transfer modes', () => {
  it('refuses mode "mail" and unknown modes with ERROR 4', async () => {
    for (const mode of ['mail', 'binary', 'x']) {
      const answer = await ask('ipxe.efi', 'rrq', mode);
      expect(answer?.packet, mode).toMatchObject({ op: 'error', code: 4 });
    }
    expect(srv.events.refusals.filter((r) => r.reason === 'unsupported-mode')).toHaveLength(3);
  });

  it('accepts OCTET and NetAscii in any case', async () => {
    for (const mode of ['OCTET', 'NetAscii']) {
      const answer = await ask('ipxe.efi', 'rrq', mode);
      expect(answer?.packet, mode).toMatchObject({ op: 'data', block: 1 });
    }
  });
});
