import { createSocket, type Socket } from 'node:dgram';
import type { MessageType } from '../dhcp/types.js';
import type { BootFlavour } from './arch.js';
import { handleDatagram, type Datagram, type IgnoreReason, type ProxyBootPolicy, type ProxyDhcpSettings } from './pipeline.js';

export interface ProxyDhcpObserver {
  onReceived?(info: { listener: Datagram['listener'] }): void;
  onReply?(info: { mac: string; messageType: MessageType; flavour: BootFlavour; ipxe: boolean; to: string }): void;
  onIgnored?(info: { reason: IgnoreReason; mac?: string; from: string }): void;
  onSendError?(info: { error: Error; to: string }): void;
}

export interface ProxyDhcpOptions extends ProxyDhcpSettings {
  /** Usually 0.0.0.0: broadcasts reach only sockets bound to the wildcard address. */
  listenAddress: string;
  port: number;
  pxePort: number;
  policy: ProxyBootPolicy;
  observer?: ProxyDhcpObserver;
}

function bind(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/**
 * proxyDHCP (PXE spec 2.1) beside the site's DHCP server: answers PXE clients with a boot
 * file and never with an address. Listens on the DHCP port (broadcast DISCOVERs) and the
 * PXE port 4011. Replies leave from a socket bound to the server address, because Linux
 * sends a limited broadcast out of the interface that owns the source address, and Node
 * cannot bind a socket to a device.
 */
export class ProxyDhcpServer {
  private readonly sockets: { socket: Socket; listener: Datagram['listener'] }[] = [];
  private sender?: Socket;

  constructor(private readonly options: ProxyDhcpOptions) {}

  async start(): Promise<void> {
    const { listenAddress, serverAddress, port, pxePort } = this.options;
    try {
      // reuseAddr lets a DHCP server on this same host keep its own port-67 socket.
      const specs: [number, string, Datagram['listener']][] = [
        [port, listenAddress, 'dhcp'],
        [pxePort, listenAddress, 'pxe'],
      ];
      if (listenAddress === '0.0.0.0') {
        // Unicast to our address (relays, REQUESTs to 4011) reaches the more specific socket.
        specs.push([port, serverAddress, 'dhcp'], [pxePort, serverAddress, 'pxe']);
      }
      for (const [boundPort, address, listener] of specs) {
        const socket = createSocket({ type: 'udp4', reuseAddr: true });
        await bind(socket, boundPort, address);
        socket.setBroadcast(true);
        socket.on('message', (data, remote) => this.receive({ data, address: remote.address, port: remote.port, listener }, socket));
        // A socket error (e.g. ICMP unreachable surfacing) must not take the daemon down.
        socket.on('error', (error) => this.options.observer?.onSendError?.({ error, to: address }));
        this.sockets.push({ socket, listener });
        if (address === serverAddress && listener === 'dhcp') this.sender = socket;
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private receive(datagram: Datagram, socket: Socket): void {
    this.options.observer?.onReceived?.({ listener: datagram.listener });
    const outcome = handleDatagram(datagram, this.options, this.options.policy);
    const from = `${datagram.address}:${datagram.port}`;
    if (outcome.kind === 'ignore') {
      this.options.observer?.onIgnored?.({ reason: outcome.reason, from, ...(outcome.mac ? { mac: outcome.mac } : {}) });
      return;
    }
    // Broadcasts leave through the server-address socket; unicast answers from where asked.
    const out = outcome.broadcast && this.sender ? this.sender : socket;
    const to = `${outcome.address}:${outcome.port}`;
    out.send(outcome.data, outcome.port, outcome.address, (error) => {
      if (error) this.options.observer?.onSendError?.({ error, to });
      else this.options.observer?.onReply?.({ mac: outcome.mac, messageType: outcome.messageType, flavour: outcome.flavour, ipxe: outcome.ipxe, to });
    });
  }

  addresses(): string[] {
    return this.sockets.map(({ socket }) => {
      const a = socket.address();
      return `${a.address}:${a.port}`;
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.splice(0).map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    this.sender = undefined;
  }
}
