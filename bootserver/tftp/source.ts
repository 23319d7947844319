// Reads the served file block by block from one handle opened per transfer. Files can be tens of MB
// (inspection initrds), so nothing holds more than a read-ahead chunk of them in memory.

import { constants } from 'node:fs';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { NetasciiEncoder } from './netascii.js';
import { isInside, type ResolveRefusal } from './resolve.js';

export type TransferMode = 'octet' | 'netascii';

export interface BlockSource {
  /** Size of the file on disk. */
  readonly size: number;
  /** Fills `target[offset..offset+length)` with the next bytes to send; fewer than `length` means the end. */
  read(target: Buffer, offset: number, length: number): Promise<number>;
  /**
   * The same, synchronously, when the bytes are already in memory; -1 (and nothing consumed) when a
   * disk read is needed. Saves two promise hops per block on the hot path.
   */
  readBuffered(target: Buffer, offset: number, length: number): number;
  close(): Promise<void>;
}

/** One disk read per this many bytes, instead of one thread-pool round trip per 512-byte block. */
const READ_AHEAD = 64 * 1024;

class OctetSource implements BlockSource {
  private readonly chunk: Buffer;
  private start = 0;
  private end = 0;
  private position = 0;
  private eof = false;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    chunkSize: number,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkSize);
  }

  readBuffered(target: Buffer, offset: number, length: number): number {
    const available = this.end - this.start;
    if (available < length && !this.eof) return -1;
    const copied = this.chunk.copy(target, offset, this.start, this.start + Math.min(available, length));
    this.start += copied;
    return copied;
  }

  async read(target: Buffer, offset: number, length: number): Promise<number> {
    let done = 0;
    while (done < length) {
      if (this.start === this.end) {
        if (this.eof) break;
        const { bytesRead } = await this.handle.read(this.chunk, 0, this.chunk.length, this.position);
        this.position += bytesRead;
        this.start = 0;
        this.end = bytesRead;
        if (bytesRead === 0) {
          this.eof = true;
          break;
        }
      }
      const copied = this.chunk.copy(target, offset + done, this.start, Math.min(this.end, this.start + length - done));
      this.start += copied;
      done += copied;
    }
    return done;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

class NetasciiSource implements BlockSource {
  private readonly encoder = new NetasciiEncoder();
  private readonly input: Buffer;
  private start = 0;
  private end = 0;
  private eof = false;

  constructor(
    private readonly raw: OctetSource,
    chunkSize: number,
  ) {
    this.input = Buffer.allocUnsafe(chunkSize);
  }

  get size(): number {
    return this.raw.size;
  }

  readBuffered(): number {
    // Expansion makes "enough input for one block" data-dependent; netascii is rare, so it always awaits.
    return -1;
  }

  async read(target: Buffer, offset: number, length: number): Promise<number> {
    let done = 0;
    while (done < length) {
      if (this.start === this.end && !this.encoder.pending) {
        if (this.eof) break;
        this.end = await this.raw.read(this.input, 0, this.input.length);
        this.start = 0;
        if (this.end < this.input.length) this.eof = true;
        if (this.end === 0) break;
      }
      const { consumed, written } = this.encoder.encode(this.input, this.start, this.end, target, offset + done, offset + length);
      this.start += consumed;
      done += written;
    }
    return done;
  }

  close(): Promise<void> {
    return this.raw.close();
  }
}

export type OpenResult = { ok: true; source: BlockSource } | { ok: false; reason: ResolveRefusal };

/**
 * Opens a path that resolve.ts approved. O_NOFOLLOW and the fstat/proc checks close the window
 * between that check and this open: a file swapped for a symlink, a FIFO or a directory is refused.
 * O_NONBLOCK keeps a FIFO swapped in from parking a thread-pool thread forever.
 */
export async function openSource(realPath: string, rootReal: string, mode: TransferMode, blockSize: number): Promise<OpenResult> {
  let handle: FileHandle;
  try {
    handle = await open(realPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'not-found' : code === 'ELOOP' ? 'outside-root' : 'unreadable' };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return { ok: false, reason: 'not-a-file' };
    }
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (opened !== undefined && opened.startsWith('/') && !isInside(rootReal, opened)) {
      await handle.close();
      return { ok: false, reason: 'outside-root' };
    }
    const chunkSize = Math.max(READ_AHEAD, blockSize);
    const octet = new OctetSource(handle, info.size, chunkSize);
    return { ok: true, source: mode === 'octet' ? octet : new NetasciiSource(octet, chunkSize) };
  } catch {
    await handle.close().catch(() => undefined);
    return { ok: false, reason: 'unreadable' };
  }
}
