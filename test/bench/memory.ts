import { readFile } from 'node:fs/promises';

export interface Memory {
  /** Resident set size now. */
  rssMB: number;
  /** Peak resident set size over the process's life ("high water mark"). */
  peakRssMB: number;
}

function fieldKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`/proc status has no ${field} line`);
  return Number(match[1]);
}

/** Reads another process's memory from /proc (Linux only, like the daemon's target hosts). */
export async function readMemory(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssMB: fieldKb(status, 'VmRSS') / 1024, peakRssMB: fieldKb(status, 'VmHWM') / 1024 };
}
