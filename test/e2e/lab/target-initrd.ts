import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const TARGET = resolve(import.meta.dirname, '..', 'target');

/**
 * The target OS's initrd: the inspector's initramfs followed by a second archive whose files
 * replace flow.sh (the kernel unpacks concatenated archives in order, later files winning).
 */
export function targetInitrd(inspectorInitrd: Buffer): Buffer {
  const root = mkdtempSync(join(tmpdir(), 'b7-target-'));
  try {
    mkdirSync(join(root, 'usr/share/beskar7'), { recursive: true });
    copyFileSync(join(TARGET, 'os.sh'), join(root, 'usr/share/beskar7/flow.sh'));
    chmodSync(join(root, 'usr/share/beskar7/flow.sh'), 0o755);
    const files = ['usr', 'usr/share', 'usr/share/beskar7', 'usr/share/beskar7/flow.sh'];
    const archive = execFileSync('busybox', ['cpio', '-o', '-H', 'newc'], { cwd: root, input: `${files.join('\n')}\n`, maxBuffer: 16 * 1024 * 1024 });
    return Buffer.concat([inspectorInitrd, gzipSync(archive, { level: 9 })]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

