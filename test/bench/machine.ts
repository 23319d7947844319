import os from 'node:os';

/** The machine a benchmark ran on, recorded with its numbers: results mean little without it. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  note: string;
}

export function machineInfo(note: string): MachineInfo {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}`, note };
}
