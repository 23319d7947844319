import { pino } from 'pino';
import { GROUP_VERSION, type PhysicalHost } from '../../shim-operator/src/api/index.js';
import { PHYSICAL_HOSTS } from '../../shim-operator/src/controllers/physical-host-controller.js';
import type { KubeObject, Resource } from '../../shim-operator/src/kube/kube-api.js';
import { ShimManager } from '../../shim-operator/src/manager.js';
import { startLab, type Lab } from '../helpers/lab.js';
import { simMac } from '../helpers/ramdisk-sim.js';
import type { ControlPlane } from './control-plane.js';
import { eventually } from './eventually.js';

export const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
export const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
export const b64 = (text: string): string => Buffer.from(text).toString('base64');

export interface LabShim {
  lab: Lab;
  shim: ShimManager;
  stop(): Promise<void>;
}

/**
 * A daemon lab of `hosts` emulated machines, a leading shim pointed at it, and one PhysicalHost
 * (with its BMC Secret) per machine in `namespace`, each Available before this returns. Host i is
 * `host-<i>` with the labels labelsOf(i).
 */
export async function startLabShim(
  plane: ControlPlane,
  options: { namespace: string; hosts: number; identity: string; labelsOf?: (i: number) => Record<string, string> },
): Promise<LabShim> {
  const { namespace } = options;
  await plane.api.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const lab = await startLab({ hosts: options.hosts });
  const shim = new ShimManager(
    plane.config,
    { daemons: [{ name: 'lab', url: lab.d.url, token: lab.d.token }], defaultDaemon: 'lab', leaseNamespace: 'default', leaseName: 'beskar7-shim', identity: options.identity, workers: 4 },
    pino({ level: process.env.B7_TEST_LOG ?? 'silent' }),
  );
  const stop = async () => {
    await shim.stop();
    await lab.stop();
  };
  try {
    shim.start();
    await shim.leading;
    for (let i = 0; i < options.hosts; i++) {
      const bmc = lab.emulator.bmcs[i];
      if (!bmc) throw new Error(`no BMC ${i}`);
      await plane.api.create(SECRETS, namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bmc-${i}`, namespace }, data: { username: b64(bmc.username), password: b64(bmc.password) } } as KubeObject);
      await plane.api.create(PHYSICAL_HOSTS, namespace, {
        apiVersion: GROUP_VERSION,
        kind: 'PhysicalHost',
        metadata: { name: `host-${i}`, namespace, labels: options.labelsOf?.(i) ?? {} },
        spec: { redfishConnection: { address: bmc.url, credentialsSecretRef: `bmc-${i}` }, bootMACAddresses: [simMac(i)] },
      } as KubeObject);
    }
    for (let i = 0; i < options.hosts; i++) {
      await eventually(() => plane.api.getOrUndefined<PhysicalHost & KubeObject>(PHYSICAL_HOSTS, namespace, `host-${i}`), (h) => h?.status?.state === 'Available', `host-${i} Available`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { lab, shim, stop };
}
