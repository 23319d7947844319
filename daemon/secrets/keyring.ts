import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 1;
const KEY_FILE = /^(k[0-9]{14}[a-f0-9]{8})\.key$/;

export class KeyringError extends Error {
  override name = 'KeyringError';
}

export interface Sealed {
  keyId: string;
  data: Buffer;
}

function newKeyId(): string {
  // Sortable by creation time, so "newest key" is the last file name in order.
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `k${stamp}${randomBytes(4).toString('hex')}`;
}

/**
 * AES-256-GCM keys kept as one file per key (`<id>.key`, base64, mode 0600) in a 0700
 * directory. The newest key seals; any present key opens, which is what lets rotation
 * re-encrypt rows while the daemon keeps running.
 */
export class Keyring {
  private keys = new Map<string, Buffer>();
  private loadedDirMtimeMs = -1;

  private constructor(private readonly dir: string) {}

  /** Opens the key directory, creating the directory and a first key when there is none. */
  static open(dir: string): Keyring {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ring = new Keyring(dir);
    ring.reload();
    if (ring.keys.size === 0) ring.addKey();
    return ring;
  }

  get primaryKeyId(): string {
    const ids = [...this.keys.keys()].sort();
    const last = ids.at(-1);
    if (!last) throw new KeyringError(`no key in ${this.dir}`);
    return last;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  /** Re-reads the keys when the directory changed (a key added or retired), else does nothing. */
  refresh(): void {
    // The existence check covers filesystems whose directory mtime is too coarse to show a
    // rotation that added and retired keys within one tick.
    const primary = [...this.keys.keys()].sort().at(-1);
    if (statSync(this.dir).mtimeMs !== this.loadedDirMtimeMs || !primary || !existsSync(join(this.dir, `${primary}.key`))) this.reload();
  }

  reload(): void {
    const dirMtimeMs = statSync(this.dir).mtimeMs;
    const found = new Map<string, Buffer>();
    for (const entry of readdirSync(this.dir)) {
      const match = KEY_FILE.exec(entry);
      if (!match?.[1]) continue;
      const file = join(this.dir, entry);
      let mode: number;
      let text: string;
      try {
        mode = statSync(file).mode & 0o777;
        text = readFileSync(file, 'utf8');
      } catch (error) {
        // A rotation in another process may retire a key between listing and reading it.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if ((mode & 0o077) !== 0) {
        throw new KeyringError(`key file ${file} is readable by group or others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
      }
      const key = Buffer.from(text.trim(), 'base64');
      if (key.length !== KEY_BYTES) throw new KeyringError(`key file ${file} does not hold a ${KEY_BYTES}-byte base64 key`);
      found.set(match[1], key);
    }
    this.keys = found;
    this.loadedDirMtimeMs = dirMtimeMs;
  }

  /** Writes a new key atomically (temp file, fsync, rename) and makes it the primary. */
  addKey(): string {
    const id = newKeyId();
    const final = join(this.dir, `${id}.key`);
    const temp = `${final}.tmp`;
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, final);
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.reload();
    return id;
  }

  removeKey(id: string): void {
    unlinkSync(join(this.dir, `${id}.key`));
    this.keys.delete(id);
  }

  /** `context` is bound as additional data: a sealed value copied to another row will not open. */
  seal(plaintext: string, context: string): Sealed {
    // `beskar7 keys rotate` may have retired our primary key while we ran. Callers seal inside
    // their write transaction, which orders this check against rotation.
    this.refresh();
    const keyId = this.primaryKeyId;
    const key = this.keys.get(keyId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`${keyId}\0${context}`));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId, data: Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), body]) };
  }

  open(sealed: Sealed, context: string): string {
    let key = this.keys.get(sealed.keyId);
    if (!key) {
      // Another process (`beskar7 keys rotate`) may have added the key since we loaded.
      this.reload();
      key = this.keys.get(sealed.keyId);
    }
    if (!key) throw new KeyringError(`secret was sealed with key ${sealed.keyId}, which is not in ${this.dir}`);
    const { data } = sealed;
    if (data.length < 1 + IV_BYTES + TAG_BYTES || data[0] !== FORMAT_VERSION) {
      throw new KeyringError('sealed secret has an unknown format');
    }
    const iv = data.subarray(1, 1 + IV_BYTES);
    const tag = data.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(`${sealed.keyId}\0${context}`));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(data.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyringError('sealed secret failed authentication (wrong key, tampered or moved between rows)');
    }
  }
}
