// A minimal TFTP client on a node dgram socket, for tests that need to see (or misbehave on) every
// packet: dropped ACKs, duplicate ACKs, foreign TIDs, windowed receiving, block-number rollover.

import dgram from 'node:dgram';
import { decode, encodeAck, encodeRequest, type TftpOptionList, type TftpPacket } from '../../../bootserver/tftp/packet.js';

export interface Received {
  raw: Buffer;
  /** Undefined when the datagram did not decode. */
  packet: TftpPacket | undefined;
  from: { address: string; port: number };
  at: number;
}

export class RawClient {
  private readonly queue: Received[] = [];
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (raw, rinfo) => {
      const decoded = decode(raw);
      this.queue.push({ raw, packet: decoded.ok ? decoded.packet : undefined, from: { address: rinfo.address, port: rinfo.port }, at: performance.now() });
      const wake = this.waiter;
      this.waiter = undefined;
      wake?.();
    });
  }

  static async open(): Promise<RawClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RawClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(packet: Buffer, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.socket.send(packet, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }

  rrq(serverPort: number, file: string, options: TftpOptionList = [], mode = 'octet'): Promise<void> {
    return this.send(encodeRequest('rrq', file, mode, options), serverPort);
  }

  /** The next datagram, or undefined when none arrives within `timeoutMs`. */
  async next(timeoutMs: number): Promise<Received | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.waiter = undefined;
    }
    return this.queue.shift();
  }

  /** Everything that arrives within `ms`. */
  async drain(ms: number): Promise<Received[]> {
    const got: Received[] = [];
    const deadline = performance.now() + ms;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return got;
      const one = await this.next(left);
      if (one) got.push(one);
    }
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

export interface DownloadResult {
  data: Buffer;
  oack: TftpOptionList | undefined;
  /** The server's TID. */
  serverTid: number;
  /** DATA packets that arrived, counting duplicates and out-of-order ones. */
  dataPackets: number;
  duplicates: number;
}

/**
 * Downloads a file as an RFC 7440 receiver: ACK at the end of each window and for the final block,
 * ACK the last in-order block on a gap or a timeout. Fails after `maxWaits` silent timeouts.
 */
export async function rawDownload(serverPort: number, file: string, options: TftpOptionList = [], timeoutMs = 2000, maxWaits = 5): Promise<DownloadResult> {
  const client = await RawClient.open();
  try {
    await client.rrq(serverPort, file, options);
    const requested = new Map(options.map(([name, value]) => [name, value]));
    let blockSize = 512;
    let windowSize = 1;
    let oack: TftpOptionList | undefined;
    let serverTid = 0;
    let expected = 1;
    let sinceAck = 0;
    let dataPackets = 0;
    let duplicates = 0;
    let waits = 0;
    const chunks: Buffer[] = [];
    for (;;) {
      const got = await client.next(timeoutMs);
      if (!got) {
        if (++waits > maxWaits) throw new Error(`no packet from the server for ${maxWaits} timeouts (expecting block ${expected})`);
        // Like any client: re-send the request until a TID answers (a flooded server may have dropped it), then re-ACK.
        if (serverTid) await client.send(encodeAck((expected - 1) & 0xffff), serverTid);
        else await client.rrq(serverPort, file, options);
        continue;
      }
      waits = 0;
      const packet = got.packet;
      if (!packet) throw new Error(`undecodable datagram from the server: ${got.raw.toString('hex').slice(0, 80)}`);
      if (serverTid === 0) serverTid = got.from.port;
      if (got.from.port !== serverTid) throw new Error(`packet from port ${got.from.port}, the transfer's TID is ${serverTid}`);
      if (packet.op === 'error') throw new Error(`server error ${packet.code}: ${packet.message}`);
      if (packet.op === 'oack') {
        oack = packet.options;
        for (const [name, value] of packet.options) {
          if (!requested.has(name)) throw new Error(`OACK carries ${name}, which was not requested`);
          if (name === 'blksize') blockSize = Number(value);
          if (name === 'windowsize') windowSize = Number(value);
        }
        await client.send(encodeAck(0), serverTid);
        continue;
      }
      if (packet.op !== 'data') throw new Error(`unexpected ${packet.op} from the server`);
      dataPackets++;
      if (packet.block !== (expected & 0xffff)) {
        duplicates++;
        // A gap or a stale block: tell the server where we are (RFC 7440 section 4).
        if (((packet.block - expected) & 0xffff) < 0x8000) {
          await client.send(encodeAck((expected - 1) & 0xffff), serverTid);
          sinceAck = 0;
        }
        continue;
      }
      chunks.push(Buffer.from(packet.data));
      expected++;
      sinceAck++;
      const last = packet.data.length < blockSize;
      if (last || sinceAck >= windowSize) {
        await client.send(encodeAck(packet.block), serverTid);
        sinceAck = 0;
      }
      if (last) return { data: Buffer.concat(chunks), oack, serverTid, dataPackets, duplicates };
    }
  } finally {
    await client.close();
  }
}
