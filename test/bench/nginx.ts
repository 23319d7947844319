import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startChild, type Child } from '../helpers/child.js';

export const NGINX = '/usr/sbin/nginx';
const READY_TIMEOUT_MS = 10_000;

export interface StaticSite {
  name: string;
  port: number;
  /** Served for every path under /ipxe/, as the daemon serves every MAC there. */
  content: string;
}

export interface Nginx {
  child: Child;
  command: string[];
  config: string;
}

/**
 * One process (master_process off) with one event loop, like the daemon: its PID is the one
 * serving, so stopping it by PID leaves no worker behind. access_log off, as the issue asks;
 * the script's content type and no-store header are matched. keepalive_requests is lifted
 * like the daemon's (Node has no per-connection limit): at nginx's default 1000, closing a
 * connection races the client's next request and shows up as a request error. Everything
 * else is nginx's default.
 */
function config(dir: string, sites: readonly StaticSite[]): string {
  const servers = sites.map(
    (site) => `  server {
    listen 127.0.0.1:${site.port};
    location /ipxe/ {
      root ${path.join(dir, site.name)};
      try_files /script.ipxe =404;
      default_type "text/plain; charset=utf-8";
      add_header Cache-Control no-store;
    }
  }`,
  );
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${path.join(dir, 'tmp', kind)};`);
  return [
    'master_process off;',
    'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  keepalive_requests 1000000000;',
    ...temp,
    ...servers,
    '}',
    '',
  ].join('\n');
}

export async function startNginx(dir: string, sites: readonly StaticSite[], signal: AbortSignal): Promise<Nginx> {
  for (const site of sites) {
    await mkdir(path.join(dir, site.name), { recursive: true });
    await writeFile(path.join(dir, site.name, 'script.ipxe'), site.content);
  }
  await mkdir(path.join(dir, 'tmp'), { recursive: true });
  const text = config(dir, sites);
  const file = path.join(dir, 'nginx.conf');
  await writeFile(file, text);
  // -e: errors before the config is read go to stderr, not to /var/log/nginx.
  const command = [NGINX, '-p', dir, '-c', file, '-e', 'stderr', '-g', 'daemon off;'];
  const child = startChild('nginx', command, { signal });
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const site of sites) {
      while (true) {
        signal.throwIfAborted();
        const exit = child.exit();
        if (exit) throw new Error(`nginx exited during start (code ${exit.code}, signal ${exit.signal})\n${child.tail()}`);
        if (Date.now() > deadline) throw new Error(`nginx not answering on 127.0.0.1:${site.port} after ${READY_TIMEOUT_MS} ms\n${child.tail()}`);
        const response = await fetch(`http://127.0.0.1:${site.port}/ipxe/probe`).catch(() => undefined);
        if (response && (await response.text()) === site.content) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await child.stop(5000);
    throw error;
  }
  return { child, command, config: text };
}
