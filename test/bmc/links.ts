import { isJsonObject } from './tree.js';
import type { Json, JsonObject } from './tree.js';

const LINK_KEYS = new Set(['@odata.id', 'target', '@Redfish.ActionInfo', 'TaskMonitor']);

/** iLO style: `/redfish/v1/systems/1/` (quirk 15). The fragment of a JSON-pointer link keeps its case. */
export function lowerLink(link: string): string {
  if (!link.startsWith('/redfish')) return link;
  const hash = link.indexOf('#');
  const path = hash === -1 ? link : link.slice(0, hash);
  const fragment = hash === -1 ? '' : link.slice(hash);
  const lowered = path.toLowerCase();
  return `${lowered.endsWith('/') ? lowered : `${lowered}/`}${fragment}`;
}

export function lowercaseLinks(value: Json): Json {
  if (Array.isArray(value)) return (value as readonly Json[]).map(lowercaseLinks);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, Json> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = LINK_KEYS.has(key) && typeof child === 'string' ? lowerLink(child) : lowercaseLinks(child);
  }
  return out;
}

export function lowercaseBodyLinks(body: JsonObject): JsonObject {
  const out = lowercaseLinks(body);
  return isJsonObject(out) ? out : body;
}
