// The shim's API types in one import: zod schemas to validate custom resources read from the
// apiserver, and the TypeScript types they infer.
export * from './common.js';
export * from './physical-host.js';
export * from './beskar7-machine.js';
export * from './beskar7-machine-template.js';
export * from './beskar7-cluster.js';
export * from './beskar7-cluster-template.js';
