/** Series value by "name{labels}" for every sample of the named metrics in Prometheus text format. */
export function samples(text: string, names: readonly string[]): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    const series = line.slice(0, cut);
    const name = series.split('{')[0] ?? '';
    if (cut > 0 && names.includes(name)) found[series] = Number(line.slice(cut + 1));
  }
  return found;
}

export const total = (found: Record<string, number>, name: string): number =>
  Object.entries(found).reduce((sum, [series, value]) => (series.split('{')[0] === name ? sum + value : sum), 0);
