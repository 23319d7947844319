import { isConflict, isNotFound, type KubeApi, type KubeObject, type Resource } from '../kube/kube-api.js';

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

/**
 * Writes status through the status subresource, only when it changed. A 404 (deleted meanwhile)
 * is nothing to do; a 409 (changed meanwhile) fails this reconcile, and the queue retries it from
 * the fresh object.
 */
export async function writeStatusIfChanged(api: KubeApi, resource: Resource, object: KubeObject & { status?: unknown }, status: unknown): Promise<void> {
  if (sameStatus(object.status ?? {}, status)) return;
  try {
    await api.replaceStatus(resource, { ...object, status } as KubeObject);
  } catch (error) {
    if (isNotFound(error)) return;
    if (isConflict(error)) throw new Error(`${resource.kind} changed while reconciling; retrying`, { cause: error });
    throw error;
  }
}
