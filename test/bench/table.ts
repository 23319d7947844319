import type { Row } from './report.js';

type Cells = Record<keyof Row, string>;

/** Plain-text columns: names left, values right-aligned so magnitudes line up. */
export function table(body: Row[]): string {
  const header: Cells = { metric: 'metric', value: 'value', goal: 'goal', verdict: 'verdict' };
  const all: Cells[] = [header, ...body];
  const width = (key: keyof Row) => Math.max(...all.map((row) => row[key].length));
  const widths = { metric: width('metric'), value: width('value'), goal: width('goal') };
  const line = (row: Cells) => `${row.metric.padEnd(widths.metric)}  ${row.value.padStart(widths.value)}  ${row.goal.padEnd(widths.goal)}  ${row.verdict}`.trimEnd();
  const rule = '-'.repeat(line(header).length);
  return [line(header), rule, ...body.map(line)].join('\n');
}
