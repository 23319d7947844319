/** perfdhcp's own summary of one DISCOVER-OFFER run, plus what its per-exchange timestamps add. */
export interface PerfdhcpStats {
  /** perfdhcp's "Rate:" line: answered exchanges per second of the test. */
  rate: number;
  sent: number;
  received: number;
  drops: number;
  dropPercent: number;
  orphans: number;
  /** min/avg/max/std-dev as perfdhcp prints them; null when nothing was answered. */
  delayMs: { min: number; avg: number; max: number; stddev: number } | null;
  /** From "-x t": one sent/received pair per answered exchange, so exact percentiles. */
  percentilesMs: { p50: number; p90: number; p99: number; p999: number } | null;
  timestamps: number;
}

function number(text: string, label: string): number {
  const match = new RegExp(`^${label}:\\s*([0-9.eE+-]+)`, 'm').exec(text);
  const value = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  if (!Number.isFinite(value)) throw new Error(`perfdhcp output has no "${label}:" number`);
  return value;
}

function optionalNumber(text: string, label: string): number | null {
  try {
    return number(text, label);
  } catch {
    return null;
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

const TIMESTAMP = /^sent \/ received: ([0-9.]+) \/ ([0-9.]+)$/gm;

function delays(text: string): Float64Array {
  const values: number[] = [];
  for (const match of text.matchAll(TIMESTAMP)) values.push((Number(match[2]) - Number(match[1])) * 1000);
  return Float64Array.from(values).sort();
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

export function parsePerfdhcp(text: string): PerfdhcpStats {
  // Only the DISCOVER-OFFER section: with -i there is no other exchange to confuse it with.
  const at = text.indexOf('***Statistics for: DISCOVER-OFFER***');
  if (at < 0) throw new Error('perfdhcp printed no DISCOVER-OFFER statistics');
  const section = text.slice(at);
  const received = number(section, 'received packets');
  const [min, avg, max, stddev] = ['min delay', 'avg delay', 'max delay', 'std deviation'].map((label) => optionalNumber(section, label));
  const sorted = delays(text);
  return {
    rate: number(text, 'Rate'),
    sent: number(section, 'sent packets'),
    received,
    drops: number(section, 'drops'),
    dropPercent: number(section, 'drops ratio'),
    orphans: number(section, 'orphans'),
    delayMs: received > 0 && min != null && avg != null && max != null && stddev != null ? { min, avg, max, stddev } : null,
    percentilesMs:
      sorted.length > 0
        ? { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), p999: round(percentile(sorted, 99.9)) }
        : null,
    timestamps: sorted.length,
  };
}
