import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { advertiseAddress, inCidr } from '../../daemon/process/advertise.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal,
  cidr: `${address}/24`,
});
const v6: NetworkInterfaceInfo = { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: 'fe80::1/64', scopeid: 2 };

describe('advertise address', () => {
  const interfaces = { lo: [v4('127.0.0.1', true)], eth0: [v4('192.0.2.5'), v6], prov0: [v4('10.20.0.1')] };

  it('takes the configured address as it is', () => {
    expect(advertiseAddress({ advertiseAddress: '10.9.9.9', provisioningNetwork: '' }, interfaces)).toEqual({ ok: true, address: '10.9.9.9', source: 'boot.advertiseAddress' });
  });

  it('finds the one local address on the provisioning network', () => {
    expect(advertiseAddress({ advertiseAddress: '', provisioningNetwork: '10.20.0.0/16' }, interfaces)).toMatchObject({ ok: true, address: '10.20.0.1', source: expect.stringContaining('prov0') as unknown });
  });

  it('refuses to guess between several addresses, naming them', () => {
    const result = advertiseAddress({ advertiseAddress: '', provisioningNetwork: '' }, interfaces);
    expect(result).toMatchObject({ ok: false });
    expect(result.ok ? '' : result.reason).toContain('several local IPv4 addresses outside loopback, boot.provisioningNetwork being unset (eth0 192.0.2.5, prov0 10.20.0.1)');
  });

  it('says when nothing is on the provisioning network', () => {
    const result = advertiseAddress({ advertiseAddress: '', provisioningNetwork: '172.16.0.0/12' }, interfaces);
    expect(result.ok ? '' : result.reason).toBe('no local IPv4 address on boot.provisioningNetwork 172.16.0.0/12; set boot.advertiseAddress or boot.provisioningNetwork');
  });

  it('matches CIDRs on whole bits', () => {
    expect(inCidr('10.20.3.4', '10.20.0.0/16')).toBe(true);
    expect(inCidr('10.21.3.4', '10.20.0.0/16')).toBe(false);
    expect(inCidr('192.168.1.130', '192.168.1.128/25')).toBe(true);
    expect(inCidr('192.168.1.127', '192.168.1.128/25')).toBe(false);
    expect(inCidr('8.8.8.8', '0.0.0.0/0')).toBe(true);
  });
});
