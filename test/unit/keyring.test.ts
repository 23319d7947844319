import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/open.js';
import { EventBus } from '../../daemon/core/event-bus.js';
import { HostService } from '../../daemon/core/hosts.js';
import { MachineService } from '../../daemon/core/machines.js';
import { hostCreateSchema } from '../../daemon/core/schemas/host.js';
import { machineCreateSchema } from '../../daemon/core/schemas/machine.js';
import { Store } from '../../daemon/core/store.js';
import { Keyring, KeyringError } from '../../daemon/secrets/keyring.js';
import { rotateKeys } from '../../daemon/secrets/rotate.js';
import { hostBody, kexecImage, tempDir } from '../helpers/daemon.js';

describe('keyring', () => {
  it('creates a 0600 key in a 0700 directory on first open', () => {
    const dir = join(tempDir(), 'keys');
    const ring = Keyring.open(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toEqual([`${ring.primaryKeyId}.key`]);
    expect(statSync(join(dir, files[0] as string)).mode & 0o777).toBe(0o600);
  });

  it('seals with AES-256-GCM: round-trips, and refuses tampering or another row', () => {
    const ring = Keyring.open(join(tempDir(), 'keys'));
    const sealed = ring.seal('s3cret', 'row:1');
    expect(sealed.data.includes(Buffer.from('s3cret'))).toBe(false);
    expect(ring.open(sealed, 'row:1')).toBe('s3cret');
    expect(() => ring.open(sealed, 'row:2')).toThrow(KeyringError);
    const flipped = Buffer.from(sealed.data);
    flipped[flipped.length - 1] = (flipped.at(-1) ?? 0) ^ 1;
    expect(() => ring.open({ keyId: sealed.keyId, data: flipped }, 'row:1')).toThrow(/failed authentication/);
    expect(ring.seal('s3cret', 'row:1').data.equals(sealed.data)).toBe(false);
  });

  it('refuses key files readable by group or others', () => {
    const dir = join(tempDir(), 'keys');
    const ring = Keyring.open(dir);
    chmodSync(join(dir, `${ring.primaryKeyId}.key`), 0o644);
    expect(() => Keyring.open(dir)).toThrow(/readable by group or others .*chmod 600/);
  });

  it('refuses a corrupt key file', () => {
    const dir = join(tempDir(), 'keys');
    Keyring.open(dir);
    writeFileSync(join(dir, 'k20990101000000deadbeef.key'), 'c2hvcnQ=\n', { mode: 0o600 });
    expect(() => Keyring.open(dir)).toThrow(/32-byte/);
  });
});

describe('key rotation', () => {
  it('re-seals every password and bootstrap payload with a new key and retires the old one, while a running daemon keeps working', () => {
    const dataDir = tempDir();
    const keyDir = join(dataDir, 'keys');
    const file = join(dataDir, 'b7.db');
    const database = openDatabase({ file, busyTimeoutMs: 1000, synchronous: 'NORMAL' });
    const daemonKeys = Keyring.open(keyDir);
    const store = new Store(database.db, database.sqlite, new EventBus());
    const hosts = new HostService(store, daemonKeys);
    const machines = new MachineService(store, daemonKeys);
    for (let i = 0; i < 5; i++) hosts.register(hostCreateSchema.parse(hostBody(`h${i}`, { redfishConnection: { address: 'https://192.0.2.1', username: 'u', password: `pw-${i}` } })));
    machines.create(machineCreateSchema.parse({ name: 'm', image: kexecImage, bootstrapData: '#cloud-config\nsecret: yes\n' }));
    const oldKey = daemonKeys.primaryKeyId;

    // The rotation runs as a separate process would: its own keyring and connection.
    const cliDb = openDatabase({ file, busyTimeoutMs: 1000, synchronous: 'FULL' });
    const result = rotateKeys(cliDb.sqlite, Keyring.open(keyDir));
    cliDb.close();
    expect(result.resealed).toBe(6);
    expect(result.retiredKeyIds).toEqual([oldKey]);
    expect(readdirSync(keyDir)).toEqual([`${result.newKeyId}.key`]);

    // The daemon's keyring still holds only the old key in memory; it must pick the new one up.
    expect(hosts.bmcPassword('default', 'h3')).toBe('pw-3');
    expect(machines.bootstrapData('default', 'm')).toBe('#cloud-config\nsecret: yes\n');
    hosts.patch('default', 'h0', { redfishConnection: { password: 'rotated-later' } });
    const fresh = new HostService(new Store(database.db, database.sqlite, new EventBus()), Keyring.open(keyDir));
    expect(fresh.bmcPassword('default', 'h0')).toBe('rotated-later');
    database.close();
  });
});
