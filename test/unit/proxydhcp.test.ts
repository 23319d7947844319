import { describe, expect, it } from 'vitest';
import { decodeDhcp, pxeView } from '../../bootserver/dhcp/index.js';
import { MessageType, Option } from '../../bootserver/dhcp/types.js';
import { bootFlavour } from '../../bootserver/proxydhcp/arch.js';
import { handleDatagram, type ProxyBootPolicy, type ProxyDhcpSettings } from '../../bootserver/proxydhcp/pipeline.js';
import { GUID, pxeRequest, type ClientProfile } from '../helpers/pxe-clients.js';

const settings: ProxyDhcpSettings = {
  serverAddress: '10.55.0.1',
  httpBaseUrl: 'http://10.55.0.1:8082',
  biosBootFile: 'undionly.kpxe',
  efiBootFile: 'snponly.efi',
  arm64BootFile: 'arm64/snponly.efi',
};
const KNOWN = '52:54:00:00:00:01';
const IDLE = '52:54:00:00:00:02';
const policy: ProxyBootPolicy = {
  dhcpVerdict: (mac) => (mac === KNOWN ? { answer: true } : mac === IDLE ? { answer: false, reason: 'not-booting' } : { answer: false, reason: 'unknown-mac' }),
};

function offer(profile: ClientProfile, mac = KNOWN, listener: 'dhcp' | 'pxe' = 'dhcp', extra: Parameters<typeof pxeRequest>[2] = {}) {
  const outcome = handleDatagram({ data: pxeRequest(profile, mac, extra), address: '0.0.0.0', port: 68, listener }, settings, policy);
  if (outcome.kind !== 'reply') return { outcome, packet: undefined };
  const decoded = decodeDhcp(outcome.data);
  if (!decoded.ok) throw new Error(decoded.error.message);
  return { outcome, packet: decoded.packet };
}

const textOf = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('latin1') : undefined);

describe('proxyDHCP pipeline', () => {
  it.each<[ClientProfile, string, string]>([
    ['bios', 'undionly.kpxe', 'PXEClient'],
    ['efi-x64', 'snponly.efi', 'PXEClient'],
    ['arm64', 'arm64/snponly.efi', 'PXEClient'],
    ['ipxe', 'http://10.55.0.1:8082/ipxe/52:54:00:00:00:01', 'PXEClient'],
    ['http', 'http://10.55.0.1:8082/ipxe-bin/snponly.efi', 'HTTPClient'],
  ])('offers %s clients %s', (profile, file, vendorClass) => {
    const { outcome, packet } = offer(profile);
    expect(outcome.kind).toBe('reply');
    if (outcome.kind !== 'reply' || !packet) return;
    expect(outcome.data.length).toBeGreaterThanOrEqual(300);
    expect(outcome).toMatchObject({ address: '255.255.255.255', port: 68, broadcast: true, messageType: MessageType.Offer });
    expect(packet).toMatchObject({ op: 2, xid: 0x1234abcd, yiaddr: '0.0.0.0', siaddr: '10.55.0.1', mac: KNOWN, flags: 0x8000 });
    const view = pxeView(packet);
    expect(view.messageType).toBe(MessageType.Offer);
    expect(view.serverId).toBe('10.55.0.1');
    expect(view.vendorClass).toBe(vendorClass);
    expect(packet.file || textOf(packet.options.get(Option.BootfileName))).toBe(file);
    if (profile === 'http') {
      expect(packet.options.has(Option.VendorSpecific)).toBe(false);
      expect(textOf(packet.options.get(Option.BootfileName))).toBe(file);
    } else {
      expect([...(packet.options.get(Option.VendorSpecific) ?? [])]).toEqual([6, 1, 8, 255]);
    }
    expect([...(packet.options.get(Option.ClientGuid) ?? [])]).toEqual([...GUID]);
  });

  it('never answers a client that is not PXE, even a known MAC', () => {
    expect(offer('plain').outcome).toEqual({ kind: 'ignore', reason: 'not-pxe', mac: KNOWN });
  });

  it('ignores unknown MACs and hosts not armed to boot', () => {
    expect(offer('bios', '52:54:00:99:99:99').outcome).toMatchObject({ kind: 'ignore', reason: 'unknown-mac' });
    expect(offer('efi-x64', IDLE).outcome).toMatchObject({ kind: 'ignore', reason: 'not-booting' });
  });

  it('answers a REQUEST on the PXE port with a unicast ACK to its source', () => {
    const outcome = handleDatagram(
      { data: pxeRequest('efi-x64', KNOWN, { type: MessageType.Request, ciaddr: '10.55.0.50' }), address: '10.55.0.50', port: 4011, listener: 'pxe' },
      settings,
      policy,
    );
    expect(outcome).toMatchObject({ kind: 'reply', address: '10.55.0.50', port: 4011, broadcast: false, messageType: MessageType.Ack });
  });

  it('answers REQUESTs on port 67 only when they name this server', () => {
    expect(offer('bios', KNOWN, 'dhcp', { type: MessageType.Request, serverId: '10.55.0.1' }).outcome).toMatchObject({ kind: 'reply', messageType: MessageType.Ack });
    expect(offer('bios', KNOWN, 'dhcp', { type: MessageType.Request, serverId: '10.55.0.254' }).outcome).toMatchObject({ kind: 'ignore', reason: 'other-server' });
    expect(offer('bios', KNOWN, 'dhcp', { type: MessageType.Release }).outcome).toMatchObject({ kind: 'ignore', reason: 'message-type' });
  });

  it('answers relayed requests through the relay agent', () => {
    const { outcome, packet } = offer('bios', KNOWN, 'dhcp', { giaddr: '10.60.0.1' });
    expect(outcome).toMatchObject({ kind: 'reply', address: '10.60.0.1', port: 67, broadcast: false });
    expect(packet?.giaddr).toBe('10.60.0.1');
  });

  it('unicasts to a client that already has an address', () => {
    expect(offer('bios', KNOWN, 'dhcp', { ciaddr: '10.55.0.77' }).outcome).toMatchObject({ address: '10.55.0.77', port: 68, broadcast: false });
  });

  it('ignores a client whose architecture option is damaged rather than guessing BIOS', () => {
    const data = Buffer.from(pxeRequest('efi-x64', KNOWN));
    // Option 93 is 2 bytes; rewrite its length to 1 and its value to one byte, keeping the rest intact.
    const at = data.indexOf(Buffer.from([93, 2, 0, 7]));
    expect(at).toBeGreaterThan(0);
    const damaged = Buffer.concat([data.subarray(0, at), Buffer.from([93, 1, 7]), data.subarray(at + 4)]);
    expect(handleDatagram({ data: damaged, address: '0.0.0.0', port: 68, listener: 'dhcp' }, settings, policy)).toMatchObject({ kind: 'ignore', reason: 'unsupported-arch' });
  });

  it('ignores garbage and replies (BOOTREPLY) silently', () => {
    expect(handleDatagram({ data: Buffer.from('hello'), address: '1.2.3.4', port: 68, listener: 'dhcp' }, settings, policy)).toEqual({ kind: 'ignore', reason: 'malformed' });
    const { outcome } = offer('bios');
    if (outcome.kind !== 'reply') throw new Error('expected a reply');
    expect(handleDatagram({ data: outcome.data, address: '1.2.3.4', port: 67, listener: 'dhcp' }, settings, policy)).toEqual({ kind: 'ignore', reason: 'not-a-request' });
  });

  it('maps client architectures to boot flavours', () => {
    expect(bootFlavour([])).toBe('bios');
    expect(bootFlavour([9])).toBe('efi-x64');
    expect(bootFlavour([2, 7])).toBe('efi-x64');
    expect(bootFlavour([19])).toBe('http-arm64');
    expect(bootFlavour([2])).toBeNull();
  });
});
