// The read-only TFTP server: one listening socket for requests, one Transfer per accepted RRQ.
// Everything that arrives is decoded defensively; no datagram can throw out of a socket handler.

import dgram from 'node:dgram';
import { realpath, stat } from 'node:fs/promises';
import net from 'node:net';
import { checkLimits, negotiate } from './options.js';
import { ErrorCode, Opcode, decode, encodeError, encodeOack, type RequestPacket } from './packet.js';
import { RateLimiter } from './ratelimit.js';
import { resolveRequest } from './resolve.js';
import { openSource, type TransferMode } from './source.js';
import { Transfer, type TransferResult } from './transfer.js';
import type { TftpObserver, TftpRefusal, TftpServerOptions } from './types.js';

/** Why start() failed, with the errno code (EACCES, EADDRINUSE, ENOENT, ...) so the daemon can say why. */
export class TftpStartError extends Error {
  override readonly name = 'TftpStartError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Error packet sent for each refusal. "Server busy" uses code 0: RFC 1350 has no code for it, and 3 means disk full. */
const REFUSAL_REPLY: Record<TftpRefusal, readonly [code: number, message: string]> = {
  'write-request': [ErrorCode.AccessViolation, 'Read-only server'],
  'not-found': [ErrorCode.FileNotFound, 'File not found'],
  'not-a-file': [ErrorCode.FileNotFound, 'Not a regular file'],
  'outside-root': [ErrorCode.AccessViolation, 'Access violation'],
  'invalid-name': [ErrorCode.AccessViolation, 'Invalid file name'],
  unreadable: [ErrorCode.AccessViolation, 'Cannot read file'],
  malformed: [ErrorCode.IllegalOperation, 'Malformed request'],
  'too-many-transfers': [ErrorCode.NotDefined, 'Server busy, try again later'],
  'unsupported-mode': [ErrorCode.IllegalOperation, 'Unsupported mode: use octet or netascii'],
  'unknown-opcode': [ErrorCode.IllegalOperation, 'Illegal TFTP operation'],
  'unexpected-opcode': [ErrorCode.IllegalOperation, 'Illegal TFTP operation'],
};

/** Caps on unsolicited replies (refusals on the listen port, ERROR 5 on transfer ports), per second. */
const REFUSALS_PER_SECOND = 500;
const STRANGER_REPLIES_PER_SECOND = 200;
const MAX_TIMEOUT_MS = 255_000;
const MAX_RETRIES = 100;

/** A client's request from acceptance to the end of its transfer; the key is the client's address:port. */
interface Slot {
  key: string;
  file: string;
  /** The RRQ as received, to tell a retransmission (ignored) from a new request (replaces the old one). */
  request: Buffer;
  transfer?: Transfer;
  cancelled: boolean;
  /** onTransferStart was reported, so onTransferEnd must be. */
  started?: boolean;
}

function checkOptions(options: TftpServerOptions): void {
  const integer = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`TFTP ${name} must be an integer from ${min} to ${max}, got ${value}`);
  };
  if (typeof options.root !== 'string' || options.root.length === 0) throw new RangeError('TFTP root must be a directory path');
  integer('port', options.port, 0, 65535);
  integer('timeoutMs', options.timeoutMs, 1, MAX_TIMEOUT_MS);
  integer('retries', options.retries, 0, MAX_RETRIES);
  integer('maxTransfers', options.maxTransfers, 1, 1_000_000);
  checkLimits(options);
}

export class TftpServer {
  private readonly options: TftpServerOptions;
  private socket: dgram.Socket | undefined;
  private rootReal = '';
  private readonly slots = new Map<string, Slot>();
  private readonly refusalReplies = new RateLimiter(REFUSALS_PER_SECOND);
  private readonly strangerReplies = new RateLimiter(STRANGER_REPLIES_PER_SECOND);

  constructor(options: TftpServerOptions) {
    checkOptions(options);
    this.options = { ...options };
  }

  async start(): Promise<void> {
    if (this.socket) throw new Error('TFTP server already started');
    const { root, host, port } = this.options;
    try {
      this.rootReal = await realpath(root);
      if (!(await stat(this.rootReal)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EINVAL';
      throw new TftpStartError(code, `TFTP root ${root} is not a usable directory (${code})`, { cause: error });
    }
    const socket = dgram.createSocket({ type: this.socketType() });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        socket.close();
        const code = error.code ?? 'EINVAL';
        const hint = code === 'EACCES' ? ': ports below 1024 need root or CAP_NET_BIND_SERVICE' : code === 'EADDRINUSE' ? ': another TFTP server is running there' : '';
        reject(new TftpStartError(code, `TFTP cannot listen on ${host}:${port}: ${code}${hint}`, { cause: error }));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('message', (msg, rinfo) => {
      try {
        this.onDatagram(msg, rinfo);
      } catch (error) {
        this.report('onError', error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => this.report('onError', error));
    this.socket = socket;
  }

  /** Closes the listener and every transfer socket; clients in flight get ERROR 0. */
  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    const closing: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      slot.cancelled = true;
      if (slot.transfer) closing.push(slot.transfer.abort('Server shutting down', true));
    }
    this.slots.clear();
    if (socket) closing.push(new Promise<void>((resolve) => socket.close(() => resolve())));
    await Promise.all(closing);
  }

  address(): { address: string; port: number } {
    if (!this.socket) throw new Error('TFTP server is not started');
    const { address, port } = this.socket.address();
    return { address, port };
  }

  /** Transfers accepted and not yet ended, including those still opening their file. */
  activeTransfers(): number {
    return this.slots.size;
  }

  private socketType(): 'udp4' | 'udp6' {
    return net.isIPv6(this.options.host) ? 'udp6' : 'udp4';
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Source port 0 cannot be answered (sending to it throws): forged, and not worth a reply or a record.
    if (rinfo.port === 0) return;
    const client = `${rinfo.address}:${rinfo.port}`;
    const decoded = decode(msg);
    if (!decoded.ok) {
      // A broken ERROR is still an ERROR: never answered, so two servers cannot trade errors forever.
      if (decoded.error.opcode === Opcode.ERROR) return;
      this.refuse(rinfo, decoded.error.reason === 'unknown-opcode' ? 'unknown-opcode' : 'malformed');
      return;
    }
    const packet = decoded.packet;
    if (packet.op === 'error') return;
    if (packet.op !== 'rrq' && packet.op !== 'wrq') {
      this.refuse(rinfo, 'unexpected-opcode');
      return;
    }
    if (packet.op === 'wrq') {
      this.refuse(rinfo, 'write-request', packet.filename);
      return;
    }
    if (packet.mode !== 'octet' && packet.mode !== 'netascii') {
      this.refuse(rinfo, 'unsupported-mode', packet.filename);
      return;
    }
    const existing = this.slots.get(client);
    if (existing) {
      // A client that re-sends its RRQ is answered by the transfer already running for it.
      if (existing.request.equals(msg)) return;
      // A different request from the same port (PXE ROMs probe tsize, abort, then ask again) replaces the old one.
      this.release(existing);
      existing.cancelled = true;
      void existing.transfer?.abort('superseded by a new request from the same client', false);
    }
    if (this.slots.size >= this.options.maxTransfers) {
      this.refuse(rinfo, 'too-many-transfers', packet.filename);
      return;
    }
    const slot: Slot = { key: client, file: packet.filename, request: Buffer.from(msg), cancelled: false };
    this.slots.set(client, slot);
    this.begin(slot, packet, rinfo).catch((error: unknown) => {
      this.release(slot);
      this.report('onError', error instanceof Error ? error : new Error(String(error)));
    });
  }

  private async begin(slot: Slot, request: RequestPacket, rinfo: dgram.RemoteInfo): Promise<void> {
    const resolved = await resolveRequest(this.rootReal, request.filename);
    if (slot.cancelled) return;
    if (!resolved.ok) {
      this.release(slot);
      this.refuse(rinfo, resolved.reason, request.filename);
      return;
    }
    const mode = request.mode as TransferMode;
    const opened = await openSource(resolved.path, this.rootReal, mode, this.options.maxBlockSize);
    if (!opened.ok) {
      this.release(slot);
      if (!slot.cancelled) this.refuse(rinfo, opened.reason, request.filename);
      return;
    }
    const source = opened.source;
    if (slot.cancelled) {
      await source.close();
      return;
    }
    // tsize is stated only for octet: a netascii transfer's wire size is not the file's size.
    const negotiated = negotiate(request.options, this.options, mode === 'octet' ? source.size : undefined);
    const started = performance.now();
    const transfer = new Transfer({
      peer: { address: rinfo.address, port: rinfo.port },
      bindAddress: this.options.host,
      type: this.socketType(),
      source,
      blockSize: negotiated.blockSize,
      windowSize: negotiated.windowSize,
      timeoutMs: negotiated.timeoutMs ?? this.options.timeoutMs,
      retries: this.options.retries,
      oack: negotiated.oack.length > 0 ? encodeOack(negotiated.oack) : undefined,
      strangerReplies: this.strangerReplies,
      onEnd: (result) => this.ended(slot, result, performance.now() - started),
    });
    slot.transfer = transfer;
    try {
      await transfer.bind();
    } catch (error) {
      if (slot.cancelled) return;
      // Out of ephemeral ports or similar: the transfer already ended itself; the client hears why.
      this.report('onError', error instanceof Error ? error : new Error(String(error)));
      this.refuse(rinfo, 'unreadable', request.filename);
      return;
    }
    if (slot.cancelled) return;
    slot.started = true;
    this.report('onTransferStart', {
      client: slot.key,
      file: slot.file,
      port: transfer.port(),
      blockSize: negotiated.blockSize,
      windowSize: negotiated.windowSize,
      size: source.size,
    });
    transfer.begin();
  }

  private ended(slot: Slot, result: TransferResult, ms: number): void {
    this.release(slot);
    if (!slot.started) return;
    this.report('onTransferEnd', { client: slot.key, file: slot.file, bytes: result.bytes, ms: Math.round(ms * 1000) / 1000, ok: result.ok, error: result.error });
  }

  private release(slot: Slot): void {
    if (this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
  }

  private refuse(rinfo: dgram.RemoteInfo, reason: TftpRefusal, file?: string): void {
    this.report('onRefused', { client: `${rinfo.address}:${rinfo.port}`, reason, file });
    const socket = this.socket;
    if (!socket || rinfo.port === 0 || !this.refusalReplies.take()) return;
    const [code, message] = REFUSAL_REPLY[reason];
    try {
      socket.send(encodeError(code, message), rinfo.port, rinfo.address);
    } catch (error) {
      this.report('onError', error instanceof Error ? error : new Error(String(error)));
    }
  }

  private report<K extends keyof TftpObserver>(event: K, info: Parameters<NonNullable<TftpObserver[K]>>[0]): void {
    const callback = this.options.observer?.[event] as ((info: Parameters<NonNullable<TftpObserver[K]>>[0]) => void) | undefined;
    if (!callback) return;
    try {
      callback.call(this.options.observer, info);
    } catch {
      // An observer's bug must not become the server's crash; there is nobody left to tell.
    }
  }
}
