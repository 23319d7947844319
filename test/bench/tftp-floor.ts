// A reference, not a competitor: the least a node:dgram program can do per block in RFC 1350 lockstep
// (no options, no checks, file in memory, no retransmission). Its time over tftpd-hpa's is the
// runtime's floor for lockstep ratios; what beskar7 adds above it is its own cost.

import dgram from 'node:dgram';
import type { BenchServer } from './tftp-servers.js';

export async function startFloor(file: Buffer): Promise<BenchServer> {
  const listen = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => listen.bind(0, '127.0.0.1', resolve));
  const transfers = new Set<dgram.Socket>();
  listen.on('message', (_request, client) => {
    const socket = dgram.createSocket('udp4');
    transfers.add(socket);
    const last = Math.floor(file.length / 512) + 1;
    const packet = (block: number) => {
      const data = file.subarray((block - 1) * 512, Math.min(block * 512, file.length));
      const out = Buffer.allocUnsafe(4 + data.length);
      out.writeUInt16BE(3, 0);
      out.writeUInt16BE(block & 0xffff, 2);
      data.copy(out, 4);
      return out;
    };
    let block = 1;
    socket.on('message', (ack) => {
      if (ack.length < 4 || ack.readUInt16BE(2) !== (block & 0xffff)) return;
      if (block === last) {
        transfers.delete(socket);
        socket.close();
        return;
      }
      block++;
      socket.send(packet(block), client.port, client.address);
    });
    socket.bind(0, '127.0.0.1', () => socket.send(packet(1), client.port, client.address));
  });
  return {
    name: 'node:dgram floor',
    port: listen.address().port,
    pid: process.pid,
    describe: 'bare node:dgram lockstep sender in the bench process (RFC 1350, no options)',
    stop: async () => {
      for (const socket of transfers) socket.close();
      await new Promise<void>((resolve) => listen.close(() => resolve()));
    },
  };
}
