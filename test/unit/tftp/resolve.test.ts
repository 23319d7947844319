// Path confinement against a real directory tree with symlinks in and out of the root, and the
// open step's own checks (O_NOFOLLOW, regular files only).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInside, normalizeName, resolveRequest } from '../../../bootserver/tftp/resolve.js';
import { openSource } from '../../../bootserver/tftp/source.js';

let base = '';
let root = '';

beforeAll(() => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'beskar7-tftp-resolve-')));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, 'efi', 'boot'), { recursive: true });
  mkdirSync(path.join(base, 'outside'));
  writeFileSync(path.join(root, 'undionly.kpxe'), 'bios');
  writeFileSync(path.join(root, 'efi', 'boot', 'bootx64.efi'), 'efi');
  writeFileSync(path.join(base, 'outside', 'secret'), 'secret');
  // A sibling whose name starts like the root's: a prefix check without a separator would let it through.
  mkdirSync(`${root}-evil`);
  writeFileSync(`${root}-evil/file`, 'evil');
  symlinkSync('undionly.kpxe', path.join(root, 'inside-link'));
  symlinkSync('efi/boot', path.join(root, 'bootdir'));
  symlinkSync('/etc/passwd', path.join(root, 'passwd'));
  symlinkSync('../outside', path.join(root, 'outdir'));
  symlinkSync(`${root}-evil/file`, path.join(root, 'evil-link'));
  symlinkSync('missing-target', path.join(root, 'dangling'));
  symlinkSync('loop-b', path.join(root, 'loop-a'));
  symlinkSync('loop-a', path.join(root, 'loop-b'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('normalizeName', () => {
  it('strips one leading slash, converts backslashes, drops "." and empty segments', () => {
    expect(normalizeName('/undionly.kpxe')).toEqual({ ok: true, relative: 'undionly.kpxe' });
    expect(normalizeName('efi\\boot\\bootx64.efi')).toEqual({ ok: true, relative: 'efi/boot/bootx64.efi' });
    expect(normalizeName('\\efi\\boot\\bootx64.efi')).toEqual({ ok: true, relative: 'efi/boot/bootx64.efi' });
    expect(normalizeName('./efi//boot/./bootx64.efi')).toEqual({ ok: true, relative: 'efi/boot/bootx64.efi' });
  });

  it('refuses "..", a second leading slash, control characters, empty and overlong names', () => {
    expect(normalizeName('../etc/passwd')).toEqual({ ok: false, reason: 'outside-root' });
    expect(normalizeName('efi/../../x')).toEqual({ ok: false, reason: 'outside-root' });
    expect(normalizeName('efi/..')).toEqual({ ok: false, reason: 'outside-root' });
    expect(normalizeName('..\\x')).toEqual({ ok: false, reason: 'outside-root' });
    expect(normalizeName('//etc/passwd')).toEqual({ ok: false, reason: 'outside-root' });
    expect(normalizeName('\\\\server\\share')).toEqual({ ok: false, reason: 'outside-root' });
    expect(normalizeName('a\0b')).toEqual({ ok: false, reason: 'invalid-name' });
    expect(normalizeName('a\nb')).toEqual({ ok: false, reason: 'invalid-name' });
    expect(normalizeName('')).toEqual({ ok: false, reason: 'invalid-name' });
    expect(normalizeName('a'.repeat(1025))).toEqual({ ok: false, reason: 'invalid-name' });
    expect(normalizeName('/')).toEqual({ ok: false, reason: 'not-a-file' });
  });

  it('allows names that merely contain dots', () => {
    expect(normalizeName('..hidden')).toEqual({ ok: true, relative: '..hidden' });
    expect(normalizeName('a..b/c...')).toEqual({ ok: true, relative: 'a..b/c...' });
  });
});

describe('isInside', () => {
  it('needs a separator after the root, and treats "/" as containing everything', () => {
    expect(isInside('/srv/tftp', '/srv/tftp')).toBe(true);
    expect(isInside('/srv/tftp', '/srv/tftp/a')).toBe(true);
    expect(isInside('/srv/tftp', '/srv/tftp-evil/a')).toBe(false);
    expect(isInside('/srv/tftp', '/srv')).toBe(false);
    expect(isInside('/', '/etc/passwd')).toBe(true);
  });
});

describe('resolveRequest', () => {
  const resolve = (name: string) => resolveRequest(root, name);

  it('finds regular files, through symlinks that stay inside', async () => {
    expect(await resolve('undionly.kpxe')).toEqual({ ok: true, path: path.join(root, 'undionly.kpxe') });
    expect(await resolve('/undionly.kpxe')).toEqual({ ok: true, path: path.join(root, 'undionly.kpxe') });
    expect(await resolve('inside-link')).toEqual({ ok: true, path: path.join(root, 'undionly.kpxe') });
    expect(await resolve('bootdir/bootx64.efi')).toEqual({ ok: true, path: path.join(root, 'efi', 'boot', 'bootx64.efi') });
  });

  it('refuses symlinks that leave the root, including to a sibling with the same prefix', async () => {
    expect(await resolve('passwd')).toEqual({ ok: false, reason: 'outside-root' });
    expect(await resolve('outdir/secret')).toEqual({ ok: false, reason: 'outside-root' });
    expect(await resolve('evil-link')).toEqual({ ok: false, reason: 'outside-root' });
    expect(await resolve('../root-evil/file')).toEqual({ ok: false, reason: 'outside-root' });
  });

  it('reports missing, non-regular and unreadable targets', async () => {
    expect(await resolve('nope')).toEqual({ ok: false, reason: 'not-found' });
    expect(await resolve('/etc/passwd')).toEqual({ ok: false, reason: 'not-found' });
    expect(await resolve('undionly.kpxe/x')).toEqual({ ok: false, reason: 'not-found' });
    expect(await resolve('dangling')).toEqual({ ok: false, reason: 'not-found' });
    expect(await resolve('efi')).toEqual({ ok: false, reason: 'not-a-file' });
    expect(await resolve('fifo')).toEqual({ ok: false, reason: 'not-a-file' });
    expect(await resolve('loop-a')).toEqual({ ok: false, reason: 'unreadable' });
  });
});

describe('openSource', () => {
  it('opens a regular file and streams it in blocks', async () => {
    const opened = await openSource(path.join(root, 'undionly.kpxe'), root, 'octet', 512);
    if (!opened.ok) throw new Error(opened.reason);
    expect(opened.source.size).toBe(4);
    const block = Buffer.alloc(3);
    expect(await opened.source.read(block, 0, 3)).toBe(3);
    expect(block.toString()).toBe('bio');
    expect(await opened.source.read(block, 0, 3)).toBe(1);
    expect(await opened.source.read(block, 0, 3)).toBe(0);
    await opened.source.close();
  });

  it('will not follow a symlink in the final component, even one that stays inside (O_NOFOLLOW)', async () => {
    expect(await openSource(path.join(root, 'inside-link'), root, 'octet', 512)).toEqual({ ok: false, reason: 'outside-root' });
    expect(await openSource(path.join(root, 'passwd'), root, 'octet', 512)).toEqual({ ok: false, reason: 'outside-root' });
  });

  it('refuses a FIFO without blocking, and a directory', async () => {
    expect(await openSource(path.join(root, 'fifo'), root, 'octet', 512)).toEqual({ ok: false, reason: 'not-a-file' });
    expect(await openSource(path.join(root, 'efi'), root, 'octet', 512)).toEqual({ ok: false, reason: 'not-a-file' });
  });

  it('refuses a file that is not under the given root (the /proc/self/fd re-check)', async () => {
    expect(await openSource(path.join(base, 'outside', 'secret'), root, 'octet', 512)).toEqual({ ok: false, reason: 'outside-root' });
  });
});
