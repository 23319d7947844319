import type { IncomingHttpHeaders } from 'node:http';
import type { BmcCore } from './core.js';
import { baseMessage, errorResponse, vendorMessage } from './errors.js';
import type { BmcResponse } from './http.js';
import type { AuthResult } from './request.js';

/** A token, when sent, decides alone: a client holding a dead session must see 401, not be rescued by Basic. */
export function authenticate(core: BmcCore, headers: IncomingHttpHeaders): AuthResult {
  const token = headers['x-auth-token'];
  if (typeof token === 'string' && token !== '') {
    const session = core.sessions.authenticate(token);
    return session ? { kind: 'session', session } : { kind: 'invalid', reason: 'token' };
  }
  const authorization = headers.authorization;
  if (!authorization) return { kind: 'none' };
  const match = /^Basic\s+(\S+)$/i.exec(authorization);
  if (!match?.[1]) return { kind: 'invalid', reason: 'credentials' };
  if (!core.config.basicAuth) return { kind: 'invalid', reason: 'basic-disabled' };
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  if (username !== core.config.username || password !== core.config.password) return { kind: 'invalid', reason: 'credentials' };
  return { kind: 'basic', username };
}

export function credentialsMatch(core: BmcCore, username: string, password: string): boolean {
  return username === core.config.username && password === core.config.password;
}

export function unauthorized(core: BmcCore, auth: AuthResult): BmcResponse {
  const headers: Record<string, string> = core.config.basicAuth ? { 'WWW-Authenticate': 'Basic realm="Beskar7 BMC emulator"' } : {};
  const message =
    auth.kind === 'invalid' && auth.reason === 'credentials'
      ? vendorMessage('Base.1.22.GeneralError', 'Login failed: incorrect user name or password.', 'Check the credentials and resubmit the request.')
      : baseMessage('NoValidSession');
  return errorResponse(401, [message], headers);
}
