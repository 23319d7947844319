import { defineConfig } from 'vitest/config';

// `npm test` runs the fast project; `npm run test:all` runs every project.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'fast',
          include: ['test/unit/**/*.test.ts', 'test/api/**/*.test.ts', 'test/process/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: 'forks',
        },
      },
      {
        // Network namespaces, real DHCP/TFTP peers: root and Debian packages (.ci/run installs them).
        test: {
          name: 'system',
          include: ['test/system/**/*.test.ts'],
          // Groups run in this order, each after the one before: fast (0), system, integration, e2e.
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        // The shim operator against a real kube-apiserver + etcd (shim-operator/test-env builds them).
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 2 },
          testTimeout: 120_000,
          hookTimeout: 300_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        // Real VMs (QEMU TCG under libvirt, sushy-tools as the BMC) network-booting from the daemon.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // After the other projects, alone: its VMs get the machine's two cores to themselves,
          // so the phase timings it prints are not skewed by other suites.
          sequence: { groupOrder: 3 },
          testTimeout: 1_800_000,
          hookTimeout: 900_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
