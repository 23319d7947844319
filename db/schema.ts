// The daemon's whole persistent state. Timestamps are Unix milliseconds; structured
// values are JSON text validated by zod on the way in (daemon/core/schemas) so the
// database never holds a shape the code cannot read back.
import { sql } from 'drizzle-orm';
import { blob, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const hosts = sqliteTable(
  'hosts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull().default(sql`'{}'`),
    bmcAddress: text('bmc_address'),
    bmcUsername: text('bmc_username'),
    systemId: text('system_id'),
    insecureSkipVerify: integer('insecure_skip_verify', { mode: 'boolean' }).notNull().default(false),
    caBundle: text('ca_bundle'),
    powerControl: text('power_control', { enum: ['redfish', 'wol', 'manual'] }).notNull(),
    state: text('state').notNull(),
    powerState: text('power_state').notNull().default('Unknown'),
    inspectionPhase: text('inspection_phase'),
    systemInfo: text('system_info', { mode: 'json' }).$type<Record<string, string | null>>(),
    inspectionReport: text('inspection_report', { mode: 'json' }).$type<unknown>(),
    // What the host boots from the network now; null means "boot your local disk". Set by the
    // lifecycle engine when it arms a boot, read by proxyDHCP and the iPXE script route.
    netbootMode: text('netboot_mode', { enum: ['inspect', 'provision', 'wipe'] }),
    lastError: text('last_error'),
    retryAt: integer('retry_at'),
    // The lifecycle engine's durable memory: what it waits for and until when, so a restart
    // (even kill -9) picks every host up where it was.
    /** When the current wait (inspection, provisioning, wipe) gives up. */
    deadlineAt: integer('deadline_at'),
    /** Consecutive failed attempts of the current step; drives the retry backoff. */
    attempts: integer('attempts').notNull().default(0),
    /** The state an Error resumes when its retry time comes. */
    errorState: text('error_state'),
    /** An operator's request waiting for the engine (re-inspect). */
    requestedAction: text('requested_action', { enum: ['inspect'] }),
    /** Per-run fields: the report of this run's own boot, its progress, its milestones. Cleared on deprovision. */
    runReport: text('run_report', { mode: 'json' }).$type<unknown>(),
    runProgress: text('run_progress', { mode: 'json' }).$type<Record<string, unknown>>(),
    runStartedAt: integer('run_started_at'),
    inspectedAt: integer('inspected_at'),
    provisionedAt: integer('provisioned_at'),
    bootedAt: integer('booted_at'),
    /** What the deprovisioning run must wipe (null: nothing). */
    pendingWipe: text('pending_wipe', { mode: 'json' }).$type<{ method: string; disks: string[] }>(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    // Bumped on every write; lets clients (the shim) detect lost updates.
    resourceVersion: integer('resource_version').notNull().default(1),
  },
  (t) => [uniqueIndex('hosts_identity').on(t.namespace, t.name), index('hosts_state').on(t.state)],
);

// What the ramdisk said while it ran, per host, newest kept (the engine trims old chunks).
export const hostLogs = sqliteTable(
  'host_logs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    hostId: integer('host_id')
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    at: integer('at').notNull(),
    text: text('text').notNull(),
  },
  (t) => [index('host_logs_host').on(t.hostId, t.id)],
);

// A MAC identifies one host: the primary key makes that a database guarantee, and it is
// the index proxyDHCP looks a booting client up by.
export const hostMacs = sqliteTable(
  'host_macs',
  {
    mac: text('mac').primaryKey(),
    hostId: integer('host_id')
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
  },
  (t) => [index('host_macs_host').on(t.hostId)],
);

// Sealed with AES-256-GCM (daemon/secrets). Kept apart from hosts so a host read can never
// select a secret by accident.
export const bmcCredentials = sqliteTable('bmc_credentials', {
  hostId: integer('host_id')
    .primaryKey()
    .references(() => hosts.id, { onDelete: 'cascade' }),
  keyId: text('key_id').notNull(),
  sealedPassword: blob('sealed_password', { mode: 'buffer' }).notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const machines = sqliteTable(
  'machines',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull().default(sql`'{}'`),
    hardwareRequirements: text('hardware_requirements', { mode: 'json' }).$type<unknown>().notNull(),
    hostSelector: text('host_selector', { mode: 'json' }).$type<unknown>().notNull(),
    image: text('image', { mode: 'json' }).$type<unknown>().notNull(),
    configurationUrl: text('configuration_url'),
    // A unique host_id is what makes "no host claimed twice" a database guarantee.
    hostId: integer('host_id').references(() => hosts.id, { onDelete: 'restrict' }),
    phase: text('phase').notNull(),
    providerId: text('provider_id'),
    addresses: text('addresses', { mode: 'json' }).$type<unknown[]>().notNull().default(sql`'[]'`),
    failureReason: text('failure_reason'),
    failureMessage: text('failure_message'),
    /** How to clean the host when the machine lets it go (null: no wipe). */
    deprovision: text('deprovision', { mode: 'json' }).$type<unknown>(),
    /** Hosts that failed this machine's validation: never offered to it again. */
    rejectedHostIds: text('rejected_host_ids', { mode: 'json' }).$type<number[]>().notNull().default(sql`'[]'`),
    /** Set when deletion was asked for; the row goes once the host is deprovisioned. */
    deletionRequestedAt: integer('deletion_requested_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    resourceVersion: integer('resource_version').notNull().default(1),
  },
  (t) => [uniqueIndex('machines_identity').on(t.namespace, t.name), uniqueIndex('machines_host').on(t.hostId)],
);

// Bootstrap data (cloud-init/ignition) carries cluster join secrets, so it is sealed like
// BMC passwords; the machine row only says whether it has some.
export const machineBootstrap = sqliteTable('machine_bootstrap', {
  machineId: integer('machine_id')
    .primaryKey()
    .references(() => machines.id, { onDelete: 'cascade' }),
  keyId: text('key_id').notNull(),
  sealedData: blob('sealed_data', { mode: 'buffer' }).notNull(),
  updatedAt: integer('updated_at').notNull(),
});

// Per-boot bearer tokens for the ramdisk: minted when a host's iPXE script is rendered, scoped
// to that host and that boot, stored as sha256 only. A new boot revokes the host's older ones.
export const bootTokens = sqliteTable(
  'boot_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    hostId: integer('host_id')
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    mode: text('mode', { enum: ['inspect', 'provision', 'wipe', 'os'] }).notNull(),
    secretHash: blob('secret_hash', { mode: 'buffer' }).notNull(),
    issuedAt: integer('issued_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('boot_tokens_host').on(t.hostId)],
);

export const apiTokens = sqliteTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  // sha256 of the secret part; the secret itself is shown once and never stored.
  secretHash: blob('secret_hash', { mode: 'buffer' }).notNull(),
  createdAt: integer('created_at').notNull(),
  lastUsedAt: integer('last_used_at'),
  revokedAt: integer('revoked_at'),
});

// Append-only: rows are only ever inserted, so the id doubles as the SSE event id and a
// client resuming with Last-Event-ID sees every event after it exactly once.
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    kind: text('kind', { enum: ['host', 'machine', 'token'] }).notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    message: text('message').notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  },
  (t) => [index('events_subject').on(t.kind, t.namespace, t.name)],
);
