import { z } from 'zod';
import { credentialsMatch } from './auth.js';
import type { BmcCore } from './core.js';
import { baseMessage, errorResponse, vendorMessage } from './errors.js';
import { emptyResponse } from './http.js';
import type { BmcResponse } from './http.js';
import { isRead, jsonObjectBody, methodNotAllowed, notFound } from './request.js';
import type { BmcRequest } from './request.js';
import { ROOT } from './tree.js';
import type { JsonObject } from './tree.js';
import type { SessionInfo } from './types.js';

const loginSchema = z.object({ UserName: z.string(), Password: z.string() });

function sessionBody(core: BmcCore, session: SessionInfo): JsonObject {
  return {
    '@odata.id': `${core.sessionsPath ?? ''}/${session.id}`,
    '@odata.type': '#Session.v1_7_0.Session',
    Id: session.id,
    Name: 'User Session',
    UserName: session.username,
  };
}

/** POST to the sessions collection: the one write Redfish allows without credentials. */
export function login(core: BmcCore, req: BmcRequest): BmcResponse {
  const body = jsonObjectBody(req);
  if (!body.ok) return body.response;
  const parsed = loginSchema.safeParse(body.value);
  if (!parsed.success) {
    const missing = ['UserName', 'Password'].filter((key) => typeof body.value[key] !== 'string');
    return errorResponse(
      400,
      missing.map((key) => baseMessage('PropertyMissing', [key], [`#/${key}`])),
    );
  }
  if (!credentialsMatch(core, parsed.data.UserName, parsed.data.Password)) {
    core.stats.loginFailures++;
    return errorResponse(401, [vendorMessage('Base.1.22.GeneralError', 'Login failed: incorrect user name or password.', 'Check the credentials and resubmit the request.')]);
  }
  const session = core.sessions.create(parsed.data.UserName);
  if (!session) return errorResponse(503, [baseMessage('SessionLimitExceeded')]);
  core.stats.sessionsCreated++;
  const location = `${core.sessionsPath ?? ''}/${session.id}`;
  return { status: 201, headers: { 'X-Auth-Token': session.token, Location: location }, body: sessionBody(core, session) };
}

/** Everything under SessionService and the sessions collection, after authentication. Undefined: not a session route. */
export function sessionRoutes(core: BmcCore, req: BmcRequest): BmcResponse | undefined {
  const lower = req.path.toLowerCase();
  const servicePath = `${ROOT}/SessionService`;
  const sessionsPath = core.sessionsPath;
  if (sessionsPath && lower === sessionsPath.toLowerCase()) {
    if (!isRead(req.method)) return methodNotAllowed(['GET', 'HEAD', 'POST']);
    const members = core.sessions.live().map((s) => ({ '@odata.id': `${sessionsPath}/${s.id}` }));
    return core.resourceResponse(sessionsPath, { '@odata.id': sessionsPath, '@odata.type': '#SessionCollection.SessionCollection', Name: 'Session Collection', Members: members, 'Members@odata.count': members.length }, members.length, req.headers);
  }
  if (sessionsPath && lower.startsWith(`${sessionsPath.toLowerCase()}/`)) {
    const id = req.path.slice(sessionsPath.length + 1);
    const session = core.sessions.get(id);
    if (!session) return notFound(req.path);
    if (req.method === 'DELETE') {
      core.sessions.delete(id);
      core.stats.sessionsDeleted++;
      return emptyResponse(204);
    }
    if (!isRead(req.method)) return methodNotAllowed(['GET', 'HEAD', 'DELETE']);
    return core.resourceResponse(req.path, sessionBody(core, session), 0, req.headers);
  }
  if (lower === servicePath.toLowerCase() || lower.startsWith(`${servicePath.toLowerCase()}/`)) {
    if (core.sessionMode !== 'enabled') return notFound(req.path);
    if (lower !== servicePath.toLowerCase()) return undefined;
    if (core.findResource(servicePath)) return undefined;
    // Mockups without a SessionService (sushy-tools) still get one when sessions are asked for.
    if (!isRead(req.method)) return methodNotAllowed(['GET', 'HEAD']);
    return core.resourceResponse(
      servicePath,
      {
        '@odata.id': servicePath,
        '@odata.type': '#SessionService.v1_1_8.SessionService',
        Id: 'SessionService',
        Name: 'Session Service',
        ServiceEnabled: true,
        SessionTimeout: Math.round(core.sessionTimeoutMs / 1000),
        Sessions: { '@odata.id': sessionsPath ?? '' },
      },
      0,
      req.headers,
    );
  }
  return undefined;
}
