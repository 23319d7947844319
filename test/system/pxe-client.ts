// A PXE client for the namespace tests: sends requests as real firmware does and prints every
// DHCP reply it sees as one JSON line. Runs inside the client namespace, started by the test.
import { createSocket } from 'node:dgram';
import { decodeDhcp, pxeView } from '../../bootserver/dhcp/index.js';
import { MessageType, Option } from '../../bootserver/dhcp/types.js';
import { pxeRequest, type ClientProfile } from '../helpers/pxe-clients.js';

interface Send {
  profile: ClientProfile;
  mac: string;
  xid: number;
  type?: 'discover' | 'request';
  to?: string;
  port?: number;
  ciaddr?: string;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as { sends: Send[]; localPort: number; waitFor: { xid: number; server: string }[]; timeoutMs: number };
const socket = createSocket({ type: 'udp4', reuseAddr: true });
const pending = new Set(plan.waitFor.map((w) => `${w.xid}@${w.server}`));
const timer = setTimeout(() => finish(1), plan.timeoutMs);

function finish(code: number): void {
  clearTimeout(timer);
  socket.close();
  process.stdout.write(`${JSON.stringify({ done: true, missing: [...pending] })}\n`);
  process.exitCode = code;
}

socket.on('message', (data, remote) => {
  const decoded = decodeDhcp(data);
  if (!decoded.ok || decoded.packet.op !== 2) return;
  const { packet } = decoded;
  const view = pxeView(packet);
  const bootfile = packet.options.get(Option.BootfileName);
  process.stdout.write(
    `${JSON.stringify({
      from: `${remote.address}:${remote.port}`,
      xid: packet.xid,
      type: view.messageType,
      serverId: view.serverId,
      yiaddr: packet.yiaddr,
      siaddr: packet.siaddr,
      file: packet.file || (bootfile ? Buffer.from(bootfile).toString('latin1') : ''),
      vendorClass: view.vendorClass,
      option43: [...(packet.options.get(Option.VendorSpecific) ?? [])],
      guidEchoed: packet.options.has(Option.ClientGuid),
      length: data.length,
    })}\n`,
  );
  pending.delete(`${packet.xid}@${view.serverId ?? ''}`);
  if (pending.size === 0) finish(0);
});

socket.bind(plan.localPort, '0.0.0.0', () => {
  socket.setBroadcast(true);
  for (const send of plan.sends) {
    const type = send.type === 'request' ? MessageType.Request : MessageType.Discover;
    const data = pxeRequest(send.profile, send.mac, { xid: send.xid, type, ...(send.ciaddr ? { ciaddr: send.ciaddr } : {}) });
    socket.send(data, send.port ?? 67, send.to ?? '255.255.255.255');
  }
});
