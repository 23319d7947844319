import type { BmcCore } from './core.js';
import { baseMessage, errorResponse } from './errors.js';
import { emptyResponse } from './http.js';
import type { BmcResponse, RedfishMessage } from './http.js';
import { isRead, jsonObjectBody, methodNotAllowed, notFound } from './request.js';
import type { BmcRequest } from './request.js';
import { isJsonObject } from './tree.js';
import type { Json, JsonObject } from './tree.js';

const READ_ONLY = new Set(['Id', 'Members', 'Members@odata.count', 'Links', 'Actions', 'Status']);

function merge(base: JsonObject, patch: Record<string, unknown>): JsonObject {
  const out: Record<string, Json> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = base[key];
    out[key] = isJsonObject(current) && typeof value === 'object' && value !== null && !Array.isArray(value) ? merge(current, value as Record<string, unknown>) : (value as Json);
  }
  return out;
}

function ownerExists(core: BmcCore, path: string): boolean {
  for (let owner = path; owner.startsWith('/redfish/v1/'); owner = owner.slice(0, owner.lastIndexOf('/'))) {
    if (core.findResource(owner)) return true;
  }
  return false;
}

/**
 * Any other resource of the mockup: GET as stored (or as this BMC last wrote it), PATCH of existing
 * properties into this BMC's overlay, nothing else.
 */
export function genericRoute(core: BmcCore, req: BmcRequest): BmcResponse {
  const actions = req.path.search(/\/Actions\//i);
  if (actions !== -1) {
    // Action URIs are not files in a mockup: the owning resource (or, for Oem actions, its nearest
    // ancestor in the tree) decides whether this is a 404.
    if (!ownerExists(core, req.path.slice(0, actions))) return notFound(req.path);
    if (req.method !== 'POST') return methodNotAllowed(['POST']);
    return errorResponse(501, [baseMessage('ActionNotSupported', [req.path.split('/').pop() ?? req.path])]);
  }
  const canonical = core.findResource(req.path);
  if (!canonical) return notFound(req.path);
  const body = core.resource(canonical) ?? {};
  if (isRead(req.method)) return core.resourceResponse(canonical, body, core.generation(canonical), req.headers);
  if (req.method === 'PATCH') {
    const patch = jsonObjectBody(req);
    if (!patch.ok) return patch.response;
    const failed = core.precondition(canonical, core.generation(canonical), req.headers);
    if (failed) return failed;
    const writes = Object.fromEntries(Object.entries(patch.value).filter(([key]) => !key.startsWith('@')));
    const problems: RedfishMessage[] = Object.keys(writes).flatMap((key) =>
      body[key] === undefined ? [baseMessage('PropertyUnknown', [key], [`#/${key}`])] : READ_ONLY.has(key) ? [baseMessage('PropertyNotWritable', [key], [`#/${key}`])] : [],
    );
    if (problems.length > 0) return errorResponse(400, problems);
    if (Object.keys(writes).length === 0) return errorResponse(400, [baseMessage('NoOperation')]);
    core.write(canonical, merge(body, writes));
    const written = core.resource(canonical) ?? {};
    return core.activeFaults.patchStatus === 204 ? emptyResponse(204) : core.resourceResponse(canonical, written, core.generation(canonical), req.headers);
  }
  return methodNotAllowed(['GET', 'HEAD', 'PATCH']);
}
