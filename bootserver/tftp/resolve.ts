// Maps a requested TFTP filename to a regular file inside the served root, or says why not.
// Confinement is by realpath, so symlinks are followed only as far as they stay inside the root.

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type ResolveRefusal = 'invalid-name' | 'outside-root' | 'not-found' | 'not-a-file' | 'unreadable';

export type ResolveResult = { ok: true; path: string } | { ok: false; reason: ResolveRefusal };

/** Longer names are refused before touching the file system; real boot file names are short. */
export const MAX_NAME_LENGTH = 1024;

/** True when `target` (a realpath) is `root` (a realpath) or below it. */
export function isInside(root: string, target: string): boolean {
  if (target === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return target.startsWith(prefix);
}

/**
 * The relative path a request names, or a refusal. Backslashes become slashes (Windows-style boot
 * configs), ONE leading slash is dropped (PXE ROMs ask for "/undionly.kpxe"), and what is left must
 * be relative with no ".." segment at all: a name that needs ".." is not a boot file name.
 */
export function normalizeName(name: string): { ok: true; relative: string } | { ok: false; reason: ResolveRefusal } {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return { ok: false, reason: 'invalid-name' };
  // The codec cannot produce NUL (it terminates strings) but other callers could; control bytes are never names.
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return { ok: false, reason: 'invalid-name' };
  }
  let relative = name.replace(/\\/g, '/');
  if (relative.startsWith('/')) relative = relative.slice(1);
  if (relative.startsWith('/')) return { ok: false, reason: 'outside-root' };
  const segments = relative.split('/');
  if (segments.includes('..')) return { ok: false, reason: 'outside-root' };
  const kept = segments.filter((segment) => segment !== '' && segment !== '.');
  if (kept.length === 0) return { ok: false, reason: 'not-a-file' };
  return { ok: true, relative: kept.join('/') };
}

function refusalFor(error: unknown): ResolveRefusal {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return 'not-found';
  return 'unreadable';
}

/** `rootReal` must already be a realpath (the server resolves it once at start). */
export async function resolveRequest(rootReal: string, name: string): Promise<ResolveResult> {
  const normal = normalizeName(name);
  if (!normal.ok) return normal;
  let real: string;
  try {
    real = await realpath(path.join(rootReal, normal.relative));
  } catch (error) {
    return { ok: false, reason: refusalFor(error) };
  }
  if (!isInside(rootReal, real)) return { ok: false, reason: 'outside-root' };
  try {
    const info = await stat(real);
    if (!info.isFile()) return { ok: false, reason: 'not-a-file' };
  } catch (error) {
    return { ok: false, reason: refusalFor(error) };
  }
  return { ok: true, path: real };
}
