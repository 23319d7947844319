import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type Database from 'better-sqlite3';
import { bootRoutes } from '../../bootserver/http/routes.js';
import { IpxeTemplates } from '../../bootserver/ipxe/templates.js';
import type { AnyRouteSpec } from '../api/route.js';
import type { Config } from '../config/schema.js';
import { BootPlanner } from '../core/boot/boot-planner.js';
import { BootTokens } from '../core/boot/boot-tokens.js';
import type { Store } from '../core/store.js';
import type { DaemonMetrics } from '../metrics/registry.js';
import { packageRoot } from '../util/package-root.js';

export interface BootWiring {
  /** Inspector files the boot scripts name but the assets directory lacks (hosts cannot be inspected without them). */
  missingInspector: string[];
  tokens: BootTokens;
  planner: BootPlanner;
  routes: AnyRouteSpec[];
  staticDirs: { prefix: string; root: string }[];
}

/** The boot path's policy and its HTTP side: tokens, planner, script routes, served directories. */
export function wireBoot(config: Config, dataDir: string, store: Store, sqlite: Database.Database, metrics: DaemonMetrics, baseUrl: () => string | null): BootWiring {
  const tokens = new BootTokens(sqlite, config.boot.tokenTtlSeconds * 1000);
  const planner = new BootPlanner(store, tokens, config.boot.discovery);
  const templates = IpxeTemplates.load(join(packageRoot(), 'ipxe-templates'));
  const assetsDir = isAbsolute(config.boot.assetsDir) ? config.boot.assetsDir : join(dataDir, config.boot.assetsDir);
  mkdirSync(assetsDir, { recursive: true, mode: 0o755 });
  const routes = bootRoutes(
    planner,
    templates,
    {
      baseUrl,
      inspectorKernel: config.boot.inspectorKernel,
      inspectorInitrd: config.boot.inspectorInitrd,
      inspectorCmdline: config.boot.inspectorCmdline,
    },
    { onScript: (kind) => metrics.ipxeScripts.inc({ kind }) },
  );
  const staticDirs = [{ prefix: '/boot-assets/', root: assetsDir }];
  // UEFI HTTP-boot clients fetch the iPXE binary over HTTP: the TFTP root, served read-only.
  if (existsSync(config.tftp.root)) staticDirs.push({ prefix: '/ipxe-bin/', root: config.tftp.root });
  const missingInspector = [config.boot.inspectorKernel, config.boot.inspectorInitrd].map((file) => join(assetsDir, file)).filter((file) => !existsSync(file));
  return { missingInspector, tokens, planner, routes, staticDirs };
}
