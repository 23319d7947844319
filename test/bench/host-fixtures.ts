export const NAMESPACE = 'default';

/** Second-to-last octet groups: each series of hosts gets MACs no other series can collide with. */
export const MAC_SERIES = { seeded: 0x00, posted: 0x01 } as const;

const MAX_INDEX = 0xffffff;
const hex = (byte: number): string => byte.toString(16).padStart(2, '0');

export const seededHostName = (index: number): string => `bench-seed-${index}`;
export const postedHostName = (index: number): string => `bench-post-${index}`;

/** A locally administered MAC (52:54:…) unique per (series, index): boot MACs must not repeat across hosts. */
export function macFor(series: number, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) throw new RangeError(`host index ${index} does not fit in a MAC`);
  return ['52', '54', hex(series), hex((index >> 16) & 0xff), hex((index >> 8) & 0xff), hex(index & 0xff)].join(':');
}

/** The JSON body of POST /api/v1/hosts: a Redfish host with one boot MAC, like a real enrolment. */
export function hostBody(name: string, mac: string, index: number): string {
  return JSON.stringify({
    namespace: NAMESPACE,
    name,
    labels: { rack: `r${index % 40}` },
    redfishConnection: {
      address: `https://10.${(index >> 16) & 0xff}.${(index >> 8) & 0xff}.${index & 0xff}`,
      username: 'admin',
      password: 'bench-password',
    },
    bootMACAddresses: [mac],
  });
}
