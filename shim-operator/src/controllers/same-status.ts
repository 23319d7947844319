/**
 * Whether two statuses hold the same data, whatever the order of their keys: a status read back
 * through its zod schema lists keys in schema order, one built by a controller in its own order,
 * and a plain JSON.stringify comparison would call them different and write status on every
 * reconcile.
 */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, inner]) => inner !== undefined)
            .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
        )
      : v,
  );
}
