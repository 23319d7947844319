/** What the lab's VM is made of: the inspection report must come back with exactly this. */
export interface VmSpec {
  name: string;
  uuid: string;
  firmware: 'bios' | 'uefi';
  vcpus: number;
  memoryMiB: number;
  diskPath: string;
  diskBytes: number;
  mac: string;
  /** The fixed address the site DHCP server gives this MAC. */
  address: string;
  /** SMBIOS system fields, so the report can be tied to this VM. */
  manufacturer: string;
  product: string;
  serial: string;
  /** The test listens here; QEMU connects as a client, so every power-on's console is caught. */
  serialSocket: string;
  /** UEFI variables, a fresh copy of the OVMF template per run. */
  nvramPath: string;
}

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

/**
 * A libvirt domain that network-boots first. type='qemu' (TCG): the nested KVM here hangs guests
 * (lab-notes.md). SeaBIOS boots the NIC's iPXE ROM; under UEFI the NIC has no ROM, so OVMF's own
 * PXE client fetches snponly.efi over TFTP, which then runs iPXE.
 */
export function domainXml(vm: VmSpec): string {
  const uefi = vm.firmware === 'uefi';
  const loader = uefi
    ? `
    <loader readonly='yes' type='pflash'>${OVMF_CODE}</loader>
    <nvram template='${OVMF_VARS}'>${escape(vm.nvramPath)}</nvram>`
    : '';
  return `<domain type='qemu'>
  <name>${escape(vm.name)}</name>
  <uuid>${vm.uuid}</uuid>
  <memory unit='MiB'>${vm.memoryMiB}</memory>
  <vcpu placement='static'>${vm.vcpus}</vcpu>
  <cpu><topology sockets='1' dies='1' cores='${vm.vcpus}' threads='1'/></cpu>
  <sysinfo type='smbios'>
    <system>
      <entry name='manufacturer'>${escape(vm.manufacturer)}</entry>
      <entry name='product'>${escape(vm.product)}</entry>
      <entry name='serial'>${escape(vm.serial)}</entry>
    </system>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='${uefi ? 'q35' : 'pc'}'>hvm</type>${loader}
    <smbios mode='sysinfo'/>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${escape(vm.diskPath)}'/>
      <target dev='vda' bus='virtio'/>
      <boot order='2'/>
    </disk>
    <interface type='bridge'>
      <mac address='${vm.mac}'/>
      <source bridge='br0'/>
      <model type='virtio'/>${uefi ? "\n      <rom enabled='no'/>" : ''}
      <boot order='1'/>
    </interface>
    <serial type='unix'>
      <source mode='connect' path='${escape(vm.serialSocket)}'>
        <reconnect enabled='yes' timeout='1'/>
      </source>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}
