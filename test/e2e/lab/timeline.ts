import type { EventView } from '../../../daemon/core/schemas/event.js';
import type { LabVm, VmLab } from './vm-lab.js';

/** Everything one provisioning run left behind, on one clock (ms since the epoch). */
export interface Timeline {
  label: string;
  mac: string;
  firmware: 'bios' | 'uefi';
  /** The QEMU process of this run connected its serial port: firmware starts. */
  vmStartedAt: number;
  events: { at: number; type: string; message: string; data: Record<string, unknown> }[];
  /** The daemon's own log records of the window (proxyDHCP, TFTP, HTTP requests). */
  daemonLog: Record<string, unknown>[];
  /** The site DHCP server's lines about this MAC. */
  siteDhcp: { at: number; text: string }[];
  /** sushy-tools' request lines (the BMC). */
  bmc: { at: number; text: string }[];
  console: { at: number; text: string }[];
}

export function collectTimeline(options: { lab: VmLab; vm: LabVm; label: string; consoleRun: number; fromEvent: number; until: EventView }): Timeline {
  const { lab, vm } = options;
  const events = lab.daemon.events.slice(options.fromEvent).filter((e) => e.id <= options.until.id && (e.kind === 'machine' || e.name === `vm-${vm.spec.firmware}`));
  const start = Date.parse(events[0]?.time ?? options.until.time);
  const end = Date.parse(options.until.time) + 1;
  const within = (at: number) => at >= start && at <= end;
  const mac = vm.spec.mac;
  return {
    label: options.label,
    mac,
    firmware: vm.spec.firmware,
    vmStartedAt: vm.console.runs[options.consoleRun] ?? Number.NaN,
    events: events.map((e) => ({ at: Date.parse(e.time), type: e.type, message: e.message, data: e.data })),
    daemonLog: lab.daemon.log().filter((r) => within(Date.parse(r.time))),
    siteDhcp: lab.siteDhcp.lines.filter((l) => within(l.at) && l.text.toLowerCase().includes(mac)).map(({ at, text }) => ({ at, text })),
    bmc: lab.sushy.process.lines.filter((l) => within(l.at)).map(({ at, text }) => ({ at, text })),
    console: vm.console.lines.filter((l) => l.run === options.consoleRun).map(({ at, text }) => ({ at, text })),
  };
}
