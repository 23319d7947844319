import { stringify } from 'yaml';

export interface Output {
  json: boolean;
  write(text: string): void;
}

export function printJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table for people; scripts use --json. */
export function printTable(out: Output, headers: string[], rows: string[][]): void {
  if (rows.length === 0) {
    out.write('No resources found.\n');
    return;
  }
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  out.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

export function printDocument(out: Output, value: unknown): void {
  if (out.json) printJson(out, value);
  else out.write(stringify(value, { lineWidth: 0 }));
}

export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
