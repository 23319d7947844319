// One read transfer: its own UDP socket (the server's TID for this client), the OACK handshake,
// lockstep or RFC 7440 windowed DATA, retransmission on timeout, and the end of the transfer.

import dgram from 'node:dgram';
import { ErrorCode, decode, encodeError, writeDataHeader, Opcode } from './packet.js';
import type { RateLimiter } from './ratelimit.js';
import type { BlockSource } from './source.js';

export interface Peer {
  address: string;
  port: number;
}

export interface TransferResult {
  ok: boolean;
  /** Payload bytes the client acknowledged. */
  bytes: number;
  error?: string;
}

export interface TransferParams {
  peer: Peer;
  /** Local address for the transfer socket: the listener's, so replies leave from the address the client used. */
  bindAddress: string;
  type: 'udp4' | 'udp6';
  source: BlockSource;
  blockSize: number;
  windowSize: number;
  timeoutMs: number;
  retries: number;
  /** The OACK to send first, when options were acknowledged; DATA starts after its ACK 0. */
  oack?: Buffer;
  /** Shared cap on ERROR 5 replies to strangers. */
  strangerReplies: RateLimiter;
  onEnd(result: TransferResult): void;
}

interface Slot {
  /** Full-size buffer, reused for later blocks once this one is acknowledged. */
  buffer: Buffer;
  /** The DATA packet: header and payload, a view of `buffer`. */
  packet: Buffer;
}

export class Transfer {
  private readonly socket: dgram.Socket;
  private readonly peer: Peer;
  private readonly source: BlockSource;
  private readonly blockSize: number;
  private readonly windowSize: number;
  private readonly timeoutMs: number;
  private readonly retries: number;

  private phase: 'oack' | 'data' | 'ended' = 'data';
  /** Sequence number (unbounded; the wire carries it mod 65536) of the first unacknowledged block. */
  private base = 1;
  /** Blocks base .. base+window.length-1, all sent at least once. */
  private window: Slot[] = [];
  private readonly spare: Buffer[] = [];
  /** Sequence number of the final (short or empty) block, once it has been read. */
  private lastSeq: number | undefined;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A disk read is in flight; an ACK arriving meanwhile waits in pendingAck. */
  private filling = false;
  private pendingAck: number | undefined;
  private bytes = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly params: TransferParams) {
    this.peer = params.peer;
    this.source = params.source;
    this.blockSize = params.blockSize;
    this.windowSize = params.windowSize;
    this.timeoutMs = params.timeoutMs;
    this.retries = params.retries;
    this.socket = dgram.createSocket({ type: params.type });
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.socket.on('error', (error) => this.finish({ ok: false, error: `socket error: ${error.message}` }));
  }

  /** Binds the transfer socket on an ephemeral port. On failure the transfer has ended (onEnd ran). */
  bind(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => settle(error);
      // Aborted while binding (server stop, superseded request): node then never calls the bind callback.
      const onClose = () => settle(new Error('transfer ended before its socket was bound'));
      const settle = (error?: Error) => {
        this.socket.off('error', onError);
        this.socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      this.socket.once('error', onError);
      this.socket.once('close', onClose);
      this.socket.bind({ address: this.params.bindAddress, port: 0, exclusive: true }, () => settle());
    });
  }

  /** Sends the first packet: the OACK, or DATA block 1 when no option was acknowledged. */
  begin(): void {
    if (this.phase === 'ended') return;
    if (this.params.oack) {
      this.phase = 'oack';
      this.sendCurrent();
    } else {
      this.advance();
    }
  }

  /** The transfer's local port: its TID. */
  port(): number {
    return this.socket.address().port;
  }

  /** Ends the transfer from outside (server stop, superseded request); resolves when the socket is closed. */
  abort(reason: string, notifyClient: boolean): Promise<void> {
    this.finish({ ok: false, error: reason }, notifyClient ? encodeError(ErrorCode.NotDefined, reason) : undefined);
    return this.closing ?? Promise.resolve();
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.phase === 'ended') return;
    if (rinfo.port !== this.peer.port || rinfo.address !== this.peer.address) {
      this.answerStranger(msg, rinfo);
      return;
    }
    const decoded = decode(msg);
    // Malformed or unexpected packets from the client are dropped, not fatal: a spoofed one could otherwise kill a boot.
    if (!decoded.ok) return;
    const packet = decoded.packet;
    if (packet.op === 'ack') this.onAck(packet.block);
    else if (packet.op === 'error') this.finish({ ok: false, error: `client sent error ${packet.code}: ${packet.message}` });
  }

  /** RFC 1350: a packet from a foreign TID gets ERROR 5 and does not disturb the transfer. */
  private answerStranger(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Never answer an ERROR (two servers could bounce errors forever), nor port 0 (unreachable).
    if (msg.length >= 2 && msg.readUInt16BE(0) === Opcode.ERROR) return;
    if (rinfo.port === 0 || !this.params.strangerReplies.take()) return;
    this.send(encodeError(ErrorCode.UnknownTransferId, 'Unknown transfer ID'), rinfo.port, rinfo.address);
  }

  private onAck(wire: number): void {
    if (this.phase === 'oack') {
      if (wire !== 0) return;
      this.phase = 'data';
      this.attempts = 0;
      this.advance();
      return;
    }
    if (this.filling) {
      this.pendingAck = wire;
      return;
    }
    // Which sent block this ACK names: distance from base-1, modulo the 16-bit wire number.
    const distance = (wire - (this.base - 1)) & 0xffff;
    // 0 is a duplicate ACK: RFC 1123 4.2.3.1 forbids answering it (Sorcerer's Apprentice); the
    // timer covers a real loss. Beyond the window is a stale or forged number.
    if (distance === 0 || distance > this.window.length) return;
    const acked = this.base - 1 + distance;
    for (const slot of this.window.splice(0, distance)) {
      this.bytes += slot.packet.length - 4;
      this.spare.push(slot.buffer);
    }
    this.base = acked + 1;
    this.attempts = 0;
    // The timer keeps running and is re-armed by the next send (no clear: that would cost a new Timeout per block).
    if (acked === this.lastSeq) {
      this.finish({ ok: true });
      return;
    }
    // An ACK inside the window means the client lost what follows (RFC 7440): the next window
    // starts right after it, resending the rest.
    this.advance();
  }

  /** Reads blocks until the window is full or the file ends, then sends the whole window. */
  private advance(): void {
    while (this.window.length < this.windowSize && this.lastSeq === undefined) {
      const buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(4 + this.blockSize);
      const length = this.source.readBuffered(buffer, 4, this.blockSize);
      if (length < 0) {
        this.spare.push(buffer);
        void this.advanceFromDisk();
        return;
      }
      this.push(buffer, length);
    }
    this.sendCurrent();
  }

  private push(buffer: Buffer, length: number): void {
    const seq = this.base + this.window.length;
    writeDataHeader(buffer, seq);
    this.window.push({ buffer, packet: buffer.subarray(0, 4 + length) });
    if (length < this.blockSize) this.lastSeq = seq;
  }

  /** The slow path of advance(): one block needs a disk read. ACKs arriving meanwhile wait in pendingAck. */
  private async advanceFromDisk(): Promise<void> {
    this.filling = true;
    const buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(4 + this.blockSize);
    try {
      const length = await this.source.read(buffer, 4, this.blockSize);
      if (this.phase === 'ended') return;
      this.push(buffer, length);
    } catch (error) {
      this.finish({ ok: false, error: `read failed: ${(error as Error).message}` }, encodeError(ErrorCode.NotDefined, 'Read error'));
      return;
    } finally {
      this.filling = false;
    }
    this.advance();
    const pending = this.pendingAck;
    if (pending !== undefined && !this.filling) {
      this.pendingAck = undefined;
      this.onAck(pending);
    }
  }

  /** (Re)sends what is outstanding, the OACK or the window, and arms the retransmission timer. */
  private sendCurrent(): void {
    if (this.phase === 'oack' && this.params.oack) this.send(this.params.oack, this.peer.port, this.peer.address);
    else for (const slot of this.window) this.send(slot.packet, this.peer.port, this.peer.address);
    // One Timeout object per transfer, re-armed per send: a new timer per block is measurable garbage.
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs);
  }

  private onTimeout(): void {
    if (this.phase === 'ended') return;
    // A slow disk is not a silent client: wait for the read instead of spending a retry.
    if (this.filling) {
      this.timer?.refresh();
      return;
    }
    if (this.attempts >= this.retries) {
      this.finish({ ok: false, error: `no ACK after ${this.retries + 1} sends of block ${this.phase === 'oack' ? 0 : this.base}` }, encodeError(ErrorCode.NotDefined, 'Timeout'));
      return;
    }
    this.attempts++;
    this.sendCurrent();
  }

  private send(packet: Buffer, port: number, address: string): void {
    try {
      this.socket.send(packet, port, address);
    } catch (error) {
      // Synchronous throws are argument errors (a closed socket, a bad port): end rather than crash.
      this.finish({ ok: false, error: `send failed: ${(error as Error).message}` });
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private finish(result: Omit<TransferResult, 'bytes'>, farewell?: Buffer): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.clearTimer();
    this.closing = new Promise<void>((resolve) => {
      const close = () => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve();
        }
      };
      if (farewell) {
        try {
          this.socket.send(farewell, this.peer.port, this.peer.address, close);
        } catch {
          close();
        }
      } else {
        close();
      }
    });
    // The handle closes after any in-flight read completes (FileHandle.close waits for it).
    this.source.close().catch(() => undefined);
    this.params.onEnd({ ...result, bytes: this.bytes });
  }
}
