import { createSocket } from 'node:dgram';

/** The magic packet: six 0xFF bytes, then the MAC sixteen times (AMD's Magic Packet format). */
export function magicPacket(mac: string): Buffer {
  const bytes = mac.split(/[:-]/).map((part) => parseInt(part, 16));
  if (bytes.length !== 6 || bytes.some((b) => Number.isNaN(b) || b < 0 || b > 255)) throw new Error(`not a MAC address: ${mac}`);
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => Buffer.from(bytes))]);
}

/** Sends the magic packet as a UDP broadcast (port 9, "discard"), a few times: it is unacknowledged. */
export async function sendWakeOnLan(mac: string, options: { broadcast: string; port: number; repeat: number }): Promise<void> {
  const packet = magicPacket(mac);
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.setBroadcast(true);
        resolve();
      });
    });
    for (let i = 0; i < options.repeat; i++) {
      await new Promise<void>((resolve, reject) => socket.send(packet, options.port, options.broadcast, (error) => (error ? reject(error) : resolve())));
    }
  } finally {
    socket.close();
  }
}
