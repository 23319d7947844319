import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export type Json = null | boolean | number | string | readonly Json[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: Json;
}

export const ROOT = '/redfish/v1';

/**
 * A mockup as read from disk: shared by every BMC built from it and frozen, so per-BMC state can
 * only live in overlays and 1,000 BMCs cost one copy of the tree.
 */
export interface MockupTree {
  readonly dir: string;
  /** Canonical path (no trailing slash, root is /redfish/v1) → body. */
  readonly resources: ReadonlyMap<string, JsonObject>;
  /** Lower-cased path → canonical path: iLO links are lower-case and clients follow them. */
  readonly lowerIndex: ReadonlyMap<string, string>;
  readonly metadataXml: string | null;
  /** Members of /redfish/v1/Systems that exist in the tree. */
  readonly systemPaths: readonly string[];
}

export function isJsonObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function lookup(tree: MockupTree, path: string): string | undefined {
  if (tree.resources.has(path)) return path;
  return tree.lowerIndex.get(path.toLowerCase());
}

function deepFreeze(value: Json): void {
  if (typeof value !== 'object' || value === null) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** Accepts the mockup folder itself (DMTF: index.json at the top) or a folder holding redfish/v1 (sushy-tools capture). */
function findRoot(dir: string): string {
  for (const candidate of [join(dir, 'redfish', 'v1'), dir]) {
    if (existsSync(join(candidate, 'index.json'))) return candidate;
  }
  throw new Error(`${dir} is not a Redfish mockup: no index.json in it or in redfish/v1 under it`);
}

async function walk(dir: string, uri: string, into: Map<string, JsonObject>, metadata: { xml: string | null }): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full, `${uri}/${entry.name}`, into, metadata);
      } else if (entry.name === 'index.json') {
        const parsed = JSON.parse(await readFile(full, 'utf8')) as Json;
        if (!isJsonObject(parsed)) throw new Error(`${full}: not a JSON object`);
        deepFreeze(parsed);
        into.set(uri, parsed);
      } else if (entry.name === 'index.xml' && uri === `${ROOT}/$metadata`) {
        metadata.xml = await readFile(full, 'utf8');
      }
    }),
  );
}

export async function loadMockupTree(dir: string): Promise<MockupTree> {
  const absolute = resolve(dir);
  const root = findRoot(absolute);
  const resources = new Map<string, JsonObject>();
  const metadata: { xml: string | null } = { xml: null };
  await walk(root, ROOT, resources, metadata);
  const lowerIndex = new Map<string, string>();
  for (const path of resources.keys()) lowerIndex.set(path.toLowerCase(), path);
  const tree = { dir: absolute, resources, lowerIndex, metadataXml: metadata.xml, systemPaths: [] as string[] };
  const collection = resources.get(`${ROOT}/Systems`);
  const members = collection?.Members;
  if (Array.isArray(members)) {
    for (const member of members as readonly Json[]) {
      if (!isJsonObject(member) || typeof member['@odata.id'] !== 'string') continue;
      const found = lookup(tree, normalisePath(member['@odata.id']));
      if (found) tree.systemPaths.push(found);
    }
  }
  return tree;
}

/**
 * Caches trees per directory for one emulator; BMCs on the same mockup share it. The promise is
 * cached, not the result, so 1,000 BMCs starting together read the disk once.
 */
export class TreeCache {
  private readonly trees = new Map<string, Promise<MockupTree>>();
  get(dir: string): Promise<MockupTree> {
    const key = resolve(dir);
    let tree = this.trees.get(key);
    if (!tree) {
      tree = loadMockupTree(key);
      this.trees.set(key, tree);
    }
    return tree;
  }
}

/** Path as the tree keys it: no query, no trailing slash, no doubled slashes, percent-decoded. */
export function normalisePath(raw: string): string {
  const cut = raw.search(/[?#]/);
  const bare = cut === -1 ? raw : raw.slice(0, cut);
  const segments = bare.split('/').filter((s) => s !== '');
  const decoded = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  return `/${decoded.join('/')}`;
}
