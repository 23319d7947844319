// Handmade datagrams, written out byte by byte, modelled on what the clients in the lab notes send.
// They check the codec against the wire format rather than against itself.

/** Bytes from hex text; whitespace, '|' and '#' comments to the end of a line are ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/[\s|]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex in test vector: ${digits.slice(0, 80)}`);
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

export const zeros = (count: number): string => ' 00'.repeat(count);

/** The fixed header of a client request: op 1, Ethernet, hlen 6, hops 0, addresses 0.0.0.0. */
const request = (xid: string, secsFlags: string, mac: string): string => `
  01 01 06 00 | ${xid} | ${secsFlags}            # op htype hlen hops | xid | secs flags
  00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00   # ciaddr yiaddr siaddr giaddr
  ${mac} ${zeros(10)}                          # chaddr: 6-byte MAC + 10 zeros
  ${zeros(64)}                                 # sname
  ${zeros(128)}                                # file
  63 82 53 63                                  # magic cookie`;

export const GUID = '00 | a1 b2 c3 d4 e5 f6 07 18 29 3a 4b 5c 6d 7e 8f 90';

/** QEMU's iPXE option ROM, BIOS: arch 0, user class "iPXE", option 175. 360 bytes. */
export const qemuIpxeDiscover = hex(`${request('3c 8d 1e 5a', '00 04 80 00', '52 54 00 12 34 56')}
  35 01 01                                     # 53 DHCPDISCOVER
  39 02 05 c0                                  # 57 max message size 1472
  5d 02 00 00                                  # 93 arch 0 (x86 BIOS)
  5e 03 01 02 01                               # 94 UNDI 2.1
  61 11 ${GUID}                                # 97 type 0 + GUID
  3c 20 50 58 45 43 6c 69 65 6e 74 3a 41 72 63 68 3a 30 30 30 30 30 3a 55 4e 44 49 3a 30 30 32 30 30 31
                                               # 60 "PXEClient:Arch:00000:UNDI:002001"
  4d 04 69 50 58 45                            # 77 "iPXE" (plain)
  37 17 01 03 06 07 0c 0f 11 1a 2b 3c 42 43 77 80 81 82 83 84 85 86 87 af cb
                                               # 55 parameter request list, 23 codes
  af 11 15 01 01 13 01 01 17 01 01 21 01 01 eb 03 01 00 00
                                               # 175 iPXE: 21, 19, 23, 33 = 1; 235 version 1.0.0
  ff`);

/** EDK2 (OVMF) x86-64 UEFI PXE: arch 7, UNDI 3.16. 322 bytes. */
export const edk2X64Discover = hex(`${request('11 22 33 44', '00 00 00 00', '52 54 00 ab cd ef')}
  35 01 01                                     # 53 DHCPDISCOVER
  39 02 05 c0                                  # 57 1472
  37 0a 01 03 06 0c 2b 3c 42 43 61 80          # 55, 10 codes
  61 11 ${GUID}                                # 97
  5e 03 01 03 10                               # 94 UNDI 3.16
  5d 02 00 07                                  # 93 arch 7 (x64 UEFI)
  3c 20 50 58 45 43 6c 69 65 6e 74 3a 41 72 63 68 3a 30 30 30 30 37 3a 55 4e 44 49 3a 30 30 33 30 31 36
                                               # 60 "PXEClient:Arch:00007:UNDI:003016"
  ff`);

/** arm64 UEFI PXE: arch 11. Shorter than 300 bytes, so zero padding follows End. */
export const arm64Discover = hex(`${request('00 00 0a 0b', '00 00 00 00', '02 00 00 00 00 0b')}
  35 01 01                                     # 53 DHCPDISCOVER
  5d 02 00 0b                                  # 93 arch 11 (arm64 UEFI)
  3c 20 50 58 45 43 6c 69 65 6e 74 3a 41 72 63 68 3a 30 30 30 31 31 3a 55 4e 44 49 3a 30 30 33 30 30 30
                                               # 60 "PXEClient:Arch:00011:UNDI:003000"
  ff ${zeros(18)}                              # End, padding to 300`);

/** UEFI HTTP boot: vendor class HTTPClient, arch 16 (x64 UEFI HTTP). */
export const httpBootDiscover = hex(`${request('de ad be ef', '00 00 00 00', '52 54 00 00 00 16')}
  35 01 01                                     # 53 DHCPDISCOVER
  5d 02 00 10                                  # 93 arch 16
  5e 03 01 03 01                               # 94 UNDI 3.1
  3c 21 48 54 54 50 43 6c 69 65 6e 74 3a 41 72 63 68 3a 30 30 30 31 36 3a 55 4e 44 49 3a 30 30 33 30 30 31
                                               # 60 "HTTPClient:Arch:00016:UNDI:003001"
  ff ${zeros(12)}                              # End, padding to 300`);

/** An ordinary DHCP client (no PXE): requested address, host name, no vendor class. */
export const plainDiscover = hex(`${request('01 02 03 04', '00 00 00 00', '00 16 3e 01 02 03')}
  35 01 01                                     # 53 DHCPDISCOVER
  32 04 c0 a8 01 64                            # 50 requested 192.168.1.100
  0c 05 6e 6f 64 65 31                         # 12 host name "node1"
  37 0d 01 1c 02 03 0f 06 77 0c 2c 2f 1a 79 2a # 55, 13 codes
  ff ${zeros(28)}                              # End, padding to 300`);

/**
 * The proxy offer the server sends the QEMU client: op 2, siaddr and file set, options 53, 54, 60
 * "PXEClient", 97 echoed, 43 = discovery control 8. Padded to exactly 300 bytes.
 */
export const proxyOffer = hex(`
  02 01 06 00 | 3c 8d 1e 5a | 00 00 80 00
  00 00 00 00 | 00 00 00 00 | c0 a8 7a 02 | 00 00 00 00   # siaddr 192.168.122.2
  52 54 00 12 34 56 ${zeros(10)}
  ${zeros(64)}
  75 6e 64 69 6f 6e 6c 79 2e 6b 70 78 65 ${zeros(115)}    # file "undionly.kpxe"
  63 82 53 63
  35 01 02                                     # 53 DHCPOFFER
  36 04 c0 a8 7a 02                            # 54 server id
  3c 09 50 58 45 43 6c 69 65 6e 74             # 60 "PXEClient"
  61 11 ${GUID}                                # 97 echoed
  2b 04 06 01 08 ff                            # 43 discovery control 8
  ff ${zeros(14)}                              # End, padding to 300`);
