import type { Timeline } from './timeline.js';

/**
 * Whose time a phase is. `beskar7`: the daemon's decisions, the script, the ramdisk's own work
 * (inspection, checksums, kexec load, saying booted). `dhcp`: a DHCP exchange between the client
 * and two servers (the site's and the proxyDHCP), whose length the client's firmware sets (EDK2
 * collects offers for a fixed ~4 s; the proxy answers in milliseconds). Not Beskar7's: the BMC,
 * firmware, downloads (the network's speed), kernel boots, and the target OS's own start.
 */
export type PhaseOwner = 'beskar7' | 'dhcp' | 'bmc' | 'firmware' | 'download' | 'kernel' | 'os';

export interface Phase {
  name: string;
  owner: PhaseOwner;
  ms: number;
}

export interface PhaseReport {
  label: string;
  phases: Phase[];
  totalMs: number;
  /** Beskar7's own work (owner beskar7). */
  beskar7Ms: number;
  /** The issue's definition: everything but firmware, kernel boots and downloads (and the BMC and the target OS, which are not Beskar7's either): beskar7 + dhcp. */
  overheadMs: number;
  /** overheadMs / totalMs. */
  overheadShare: number;
}

interface HttpRecord {
  url: string;
  method: string;
  start: number;
  end: number;
}

const OWNERS: readonly PhaseOwner[] = ['beskar7', 'dhcp', 'bmc', 'firmware', 'download', 'kernel', 'os'];

/**
 * Cuts one provisioning run (machine created → the target OS said booted) into contiguous phases
 * at milestones every source stamps on one clock: the daemon's events and log (HTTP requests with
 * their durations, proxyDHCP offers, TFTP transfers), the BMC's request log, and the serial console.
 * Throws when a milestone is missing, naming it, so a changed log never yields a silent zero.
 */
export function phasesOf(timeline: Timeline): PhaseReport {
  const first = <T>(items: T[], what: string, match: (item: T) => boolean): T => {
    const found = items.find(match);
    if (found === undefined) throw new Error(`${timeline.label}: no ${what} in the timeline`);
    return found;
  };
  const last = <T>(items: T[], what: string, match: (item: T) => boolean): T => first([...items].reverse(), what, match);
  const at = (record: Record<string, unknown>) => Date.parse(String(record.time));
  const http: HttpRecord[] = timeline.daemonLog
    .filter((r) => r.msg === 'http request')
    .map((r) => ({ url: String(r.url), method: String(r.method), end: at(r), start: at(r) - Number(r.ms) }));
  const offers = timeline.daemonLog.filter((r) => r.msg === 'proxyDHCP offer sent' && r.mac === timeline.mac).map((r) => ({ at: at(r), ipxe: r.ipxe === true }));
  const tftp = timeline.daemonLog.filter((r) => String(r.msg).startsWith('TFTP transfer')).map((r) => ({ end: at(r), start: at(r) - Number(r.ms) }));
  const event = (what: string, match: (e: Timeline['events'][number]) => boolean) => first(timeline.events, what, match).at;

  const created = timeline.events[0]?.at ?? Number.NaN;
  const bmcFirst = first(timeline.bmc, 'BMC request', (l) => l.at >= created && /"(GET|POST|PATCH) \/redfish/.test(l.text)).at;
  const vmStart = timeline.vmStartedAt;
  const discover = first(offers, 'proxyDHCP offer', (o) => o.at >= vmStart).at;
  const script = first(http, 'iPXE script request', (h) => h.start >= vmStart && h.url.startsWith('/ipxe/'));
  const ramdiskEnd = last(http, 'ramdisk download', (h) => h.start >= script.end && h.url.startsWith('/boot-assets/inspector/')).end;
  const inits = timeline.console.filter((l) => l.at >= ramdiskEnd && /^beskar7-init: modules loaded/.test(l.text));
  const ramdiskDrivers = first(inits, 'ramdisk "modules loaded" console line', () => true).at;
  const report = first(http, 'inspection report', (h) => h.method === 'POST' && h.start >= ramdiskDrivers && h.url.startsWith('/api/v1/inspection/')).end;
  const targetStart = first(http, 'target download', (h) => h.start >= report && h.url.startsWith('/boot-assets/target/')).start;
  const targetEnd = last(http, 'target download', (h) => h.url.startsWith('/boot-assets/target/')).end;
  const kexec = event('Booted event from the ramdisk', (e) => e.type === 'Booted' || (e.type === 'StateChanged' && e.data.to === 'Provisioned'));
  const targetDrivers = first(inits, 'target "modules loaded" console line', (l) => l.at >= kexec).at;
  const booted = event('Booted event from the OS', (e) => e.type === 'Booted' && e.data.source === 'os');

  const marks: [string, PhaseOwner, number][] = [
    ['claim, validate stored report, arm boot', 'beskar7', created],
    ['BMC: boot override, power on', 'bmc', bmcFirst],
    ['firmware (POST, NIC ROM)', 'firmware', vmStart],
  ];
  if (timeline.firmware === 'uefi') {
    const tftpStart = first(tftp, 'TFTP transfer', (t) => t.start >= discover).start;
    const tftpEnd = last(tftp, 'TFTP transfer', (t) => t.start >= discover).end;
    const ipxeDiscover = first(offers, 'proxyDHCP offer to iPXE', (o) => o.at >= tftpEnd && o.ipxe).at;
    marks.push(['DHCP + proxyDHCP (firmware PXE)', 'dhcp', discover], ['TFTP snponly.efi', 'download', tftpStart], ['iPXE start', 'firmware', tftpEnd], ['DHCP + proxyDHCP (iPXE)', 'dhcp', ipxeDiscover]);
  } else {
    marks.push(['DHCP + proxyDHCP', 'dhcp', discover]);
  }
  marks.push(
    ['iPXE script', 'beskar7', script.start],
    ['download ramdisk (HTTP)', 'download', script.end],
    ['kernel boot + drivers (ramdisk)', 'kernel', ramdiskEnd],
    ['inspection: DHCP, report', 'beskar7', ramdiskDrivers],
    ['validate, answer kexec', 'beskar7', report],
    ['download target (HTTP)', 'download', targetStart],
    ['verify sha256, kexec load, booted', 'beskar7', targetEnd],
    ['kexec + kernel boot + drivers (target)', 'kernel', kexec],
    ['target OS: DHCP, user-data, booted', 'os', targetDrivers],
  );
  const phases: Phase[] = marks.map(([name, owner, start], i) => {
    const end = marks[i + 1]?.[2] ?? booted;
    if (!Number.isFinite(start) || end < start) throw new Error(`${timeline.label}: milestones out of order at "${name}" (${new Date(start).toISOString()} → ${new Date(end).toISOString()})`);
    return { name, owner, ms: end - start };
  });
  const totalMs = booted - created;
  const sum = (owners: PhaseOwner[]) => phases.filter((p) => owners.includes(p.owner)).reduce((total, p) => total + p.ms, 0);
  const overheadMs = sum(['beskar7', 'dhcp']);
  return { label: timeline.label, phases, totalMs, beskar7Ms: sum(['beskar7']), overheadMs, overheadShare: overheadMs / totalMs };
}

/** The report as a table, one line per phase, and the share of each owner. */
export function formatPhases(report: PhaseReport): string {
  const lines = [`${report.label}: machine created → target OS booted in ${(report.totalMs / 1000).toFixed(1)} s`];
  for (const phase of report.phases) lines.push(`  ${phase.name.padEnd(42)} ${(phase.ms / 1000).toFixed(2).padStart(7)} s  ${phase.owner}`);
  const byOwner = OWNERS.map((owner) => {
    const ms = report.phases.filter((p) => p.owner === owner).reduce((sum, p) => sum + p.ms, 0);
    return `${owner} ${((ms / report.totalMs) * 100).toFixed(1)}%`;
  });
  lines.push(`  shares: ${byOwner.join(', ')}`);
  const pct = (ms: number) => `${((ms / report.totalMs) * 100).toFixed(1)}%`;
  lines.push(`  Beskar7's overhead (all but BMC, firmware, downloads, kernel boots, target OS): ${(report.overheadMs / 1000).toFixed(2)} s = ${pct(report.overheadMs)} (goal < 10%)`);
  lines.push(`    of which DHCP exchanges (length set by the client firmware) ${((report.overheadMs - report.beskar7Ms) / 1000).toFixed(2)} s; Beskar7's own work ${(report.beskar7Ms / 1000).toFixed(2)} s = ${pct(report.beskar7Ms)}`);
  return lines.join('\n');
}
