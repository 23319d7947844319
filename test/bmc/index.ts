export { startBmcEmulator } from './emulator.js';
export { HEALTHY, TASK_DEFAULTS, faultsSchema } from './faults.js';
export { PROFILES, profile } from './profiles.js';
export type { ProfileName } from './profiles.js';
export { loadMockupTree } from './tree.js';
export type { MockupTree } from './tree.js';
export { dmtfMockup, haveRedfishData, redfishDataDir, sushyToolsTree } from './data.js';
export type { DmtfMockup } from './data.js';
export type * from './types.js';
