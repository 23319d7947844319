import { unauthorized } from './auth.js';
import type { BmcCore } from './core.js';
import { baseMessage, errorResponse } from './errors.js';
import { jsonResponse } from './http.js';
import type { BmcResponse } from './http.js';
import { isRead, methodNotAllowed, notFound } from './request.js';
import type { BmcRequest } from './request.js';
import { genericRoute } from './route-generic.js';
import { login, sessionRoutes } from './route-sessions.js';
import { systemRoute } from './route-systems.js';
import { taskRoute } from './route-tasks.js';
import { ROOT } from './tree.js';

const lowerRoot = ROOT.toLowerCase();

/** sushy-tools (Flask) answers a system's Name with 307 to its UUID, for every method and sub-path (quirk 16). */
function nameRedirect(core: BmcCore, req: BmcRequest): BmcResponse | undefined {
  const segments = req.path.split('/');
  if (segments.length < 5 || segments[3]?.toLowerCase() !== 'systems') return undefined;
  const name = segments[4] ?? '';
  if (core.systems.some((s) => s.id.toLowerCase() === name.toLowerCase())) return undefined;
  const named = core.systems.filter((s) => s.name === name);
  const target = named.length === 1 ? named[0] : undefined;
  if (!target) return undefined;
  const location = [...segments.slice(0, 4), encodeURIComponent(target.id), ...segments.slice(5)].join('/');
  const html = `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${location}">${location}</a>. If not, click the link.\n`;
  return { status: 307, headers: { Location: location, 'Content-Type': 'text/html; charset=utf-8' }, body: html };
}

const identityOnly = (value: string | undefined): boolean => value !== undefined && value.trim().toLowerCase() === 'identity';

/** What a BMC answers, before faults reshape or drop it. */
export function route(core: BmcCore, req: BmcRequest): BmcResponse {
  const lower = req.path.toLowerCase();
  if (lower === '/redfish') return isRead(req.method) ? jsonResponse(200, { v1: `${ROOT}/` }) : methodNotAllowed(['GET', 'HEAD']);
  if (lower !== lowerRoot && !lower.startsWith(`${lowerRoot}/`)) return notFound(req.path);
  if (core.activeFaults.rejectIdentityEncoding && identityOnly(req.headers['accept-encoding'])) {
    return errorResponse(406, [baseMessage('GeneralError')]);
  }

  // The spec leaves these open so clients can discover the service before logging in.
  if (lower === lowerRoot) return isRead(req.method) ? core.resourceResponse(ROOT, core.serviceRoot(), 0, req.headers) : methodNotAllowed(['GET', 'HEAD']);
  if (lower === `${lowerRoot}/$metadata`) {
    if (!core.tree.metadataXml) return notFound(req.path);
    return isRead(req.method) ? { status: 200, headers: { 'Content-Type': 'application/xml' }, body: core.tree.metadataXml } : methodNotAllowed(['GET', 'HEAD']);
  }
  if (lower === `${lowerRoot}/odata` && isRead(req.method)) return genericRoute(core, req);
  if (core.sessionsPath && lower === core.sessionsPath.toLowerCase() && req.method === 'POST') return login(core, req);

  if (req.auth.kind === 'none' || req.auth.kind === 'invalid') return unauthorized(core, req.auth);

  if (core.activeFaults.redirectSystemName) {
    const redirect = nameRedirect(core, req);
    if (redirect) return redirect;
  }
  const session = sessionRoutes(core, req);
  if (session) return session;
  const task = taskRoute(core, req);
  if (task) return task;
  const system = core.systemRoute(req.path);
  if (system) {
    const answer = systemRoute(core, req, system.system, system.kind);
    if (answer) return answer;
  }
  return genericRoute(core, req);
}
