import type Database from 'better-sqlite3';
import type { NetbootMode } from '../schemas/host.js';
import type { Store } from '../store.js';
import type { BootTokens } from './boot-tokens.js';

/** A booting client as the boot servers see it: only its MAC identifies it. */
export interface BootTarget {
  hostId: number;
  namespace: string;
  name: string;
  mode: NetbootMode | null;
}

export type DhcpVerdict = { answer: true; target: BootTarget | null } | { answer: false; reason: 'unknown-mac' | 'not-booting' };

/** What a booting machine's iPXE script should do; the bootserver renders it. */
export type ScriptPlan =
  | { kind: 'ramdisk'; mode: NetbootMode; namespace: string; name: string; mac: string; token: string }
  | { kind: 'local'; namespace: string; name: string; mac: string }
  | { kind: 'unknown'; mac: string };

interface TargetRow {
  id: number;
  namespace: string;
  name: string;
  netboot_mode: NetbootMode | null;
}

/**
 * Boot policy: which MAC boots what, now. Knows hosts and tokens; knows nothing of DHCP,
 * TFTP or HTTP, which ask it through this narrow interface.
 */
export class BootPlanner {
  private readonly byMac: Database.Statement<[string], TargetRow>;
  private readonly markInProgress: Database.Statement<[number, number]>;

  constructor(
    private readonly store: Store,
    private readonly tokens: BootTokens,
    private readonly discovery: boolean,
  ) {
    this.byMac = store.sqlite.prepare(
      'SELECT h.id, h.namespace, h.name, h.netboot_mode FROM host_macs m JOIN hosts h ON h.id = m.host_id WHERE m.mac = ?',
    );
    this.markInProgress = store.sqlite.prepare(
      "UPDATE hosts SET inspection_phase = 'InProgress', updated_at = ?, resource_version = resource_version + 1 WHERE id = ? AND state = 'Inspecting' AND inspection_phase IN ('Pending', 'Booting')",
    );
  }

  target(mac: string): BootTarget | null {
    const row = this.byMac.get(mac);
    return row ? { hostId: row.id, namespace: row.namespace, name: row.name, mode: row.netboot_mode } : null;
  }

  /** Whether proxyDHCP should offer a boot to this MAC. */
  dhcpVerdict(mac: string): DhcpVerdict {
    const target = this.target(mac);
    if (!target) return this.discovery ? { answer: true, target: null } : { answer: false, reason: 'unknown-mac' };
    // A host that should boot its disk gets no offer: its firmware moves on to the next device.
    if (target.mode === null) return { answer: false, reason: 'not-booting' };
    return { answer: true, target };
  }

  /** Plans the host's iPXE script; a network boot mints the token for this boot (and records it). */
  scriptFor(mac: string): ScriptPlan {
    const target = this.target(mac);
    if (!target) return { kind: 'unknown', mac };
    const mode = target.mode;
    if (mode === null) return { kind: 'local', namespace: target.namespace, name: target.name, mac };
    const token = this.store.write((_tx, record) => {
      const secret = this.tokens.issue(target.hostId, mode);
      // The host reached its script: the inspection is under way (its phase says so).
      this.markInProgress.run(Date.now(), target.hostId);
      record({
        kind: 'host',
        namespace: target.namespace,
        name: target.name,
        type: 'BootScriptServed',
        message: `iPXE script served for a ${mode} boot from ${mac}; a new boot token was issued`,
        data: { mode, mac },
      });
      return secret;
    });
    return { kind: 'ramdisk', mode, namespace: target.namespace, name: target.name, mac, token };
  }
}
