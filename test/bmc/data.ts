import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the shared Redfish data (mockups, samples, capture) lives: $BESKAR7_REDFISH_DATA, else the
 * `shared/redfish-data` folder beside this checkout.
 */
export function redfishDataDir(): string {
  const fromEnv = process.env.BESKAR7_REDFISH_DATA;
  if (fromEnv) return resolve(fromEnv);
  const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  return resolve(repo, '..', 'shared', 'redfish-data');
}

export type DmtfMockup = 'public-rackmount1' | 'public-bladed' | 'public-bladed-partitions' | 'public-tower' | 'public-localstorage' | 'public-liquid-cooled-server' | 'public-oem-examples';

export function dmtfMockup(name: DmtfMockup): string {
  return join(redfishDataDir(), 'dmtf-mockups', name);
}

/** The sushy-tools capture: two fake systems, no SessionService, Once read back as Continuous. */
export function sushyToolsTree(): string {
  return join(redfishDataDir(), 'sushy-tools-capture', 'tree');
}

export function haveRedfishData(): boolean {
  return existsSync(join(redfishDataDir(), 'dmtf-mockups'));
}
