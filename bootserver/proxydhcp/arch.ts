// Client system architecture (DHCP option 93, RFC 4578 and IANA's "Processor Architecture
// Types" registry) → how that firmware wants its boot program.
export type BootFlavour = 'bios' | 'efi-x64' | 'efi-arm64' | 'http-x64' | 'http-arm64';

const FLAVOURS = new Map<number, BootFlavour>([
  [0, 'bios'],
  [7, 'efi-x64'],
  // Type 9 is "EFI x86-64" in IANA's list; some firmware sends it instead of 7.
  [9, 'efi-x64'],
  [11, 'efi-arm64'],
  [16, 'http-x64'],
  [19, 'http-arm64'],
]);

/** The flavour for the client's first supported architecture; none means we cannot serve it. */
export function bootFlavour(architectures: readonly number[]): BootFlavour | null {
  // Option 93 absent: a pre-RFC 4578 PXE ROM, which is BIOS.
  if (architectures.length === 0) return 'bios';
  for (const arch of architectures) {
    const flavour = FLAVOURS.get(arch);
    if (flavour) return flavour;
  }
  return null;
}
