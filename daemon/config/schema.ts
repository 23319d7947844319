import { isIPv4 } from 'node:net';
import { z } from 'zod';

function isCidr(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  return extra === undefined && address !== undefined && isIPv4(address) && bits !== undefined && /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
}

// The one schema for every setting. Env names and flags are derived from it
// (daemon/config/keys.ts), so a key documented here is settable everywhere.
export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data').describe('directory for the SQLite file and the secret keys'),
    http: z
      .object({
        host: z.string().min(1).default('0.0.0.0').describe('address of the HTTP listener (REST API, metrics, boot scripts)'),
        port: z.number().int().min(0).max(65535).default(8082).describe('port of the HTTP listener; 0 picks a free port'),
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024)
          .describe('largest request body accepted; larger ones get 413'),
        publicHealth: z.boolean().default(true).describe('serve /healthz and /readyz without an API token'),
        publicMetrics: z.boolean().default(true).describe('serve /metrics without an API token'),
        sseHeartbeatSeconds: z.number().int().min(1).max(3600).default(15).describe('interval of the keep-alive comment on event streams, which keeps proxies from closing them'),
        shutdownGraceSeconds: z.number().int().min(1).max(600).default(15).describe('how long in-flight requests may finish on SIGTERM'),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        file: z.string().min(1).default('beskar7.db').describe('SQLite file, relative to dataDir unless absolute'),
        busyTimeoutMs: z.number().int().min(0).max(600_000).default(5000).describe('how long a write waits for a lock'),
        synchronous: z.enum(['FULL', 'NORMAL']).default('FULL').describe('FULL survives power loss; NORMAL only a process crash'),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        keyDir: z.string().min(1).default('keys').describe('directory of AES-256-GCM key files, relative to dataDir unless absolute'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        printInitialAdminToken: z
          .boolean()
          .default(true)
          .describe('on first start (no token ever created) create an admin token and print it once to stderr'),
      })
      .strict()
      .prefault({}),
    boot: z
      .object({
        advertiseAddress: z
          .string()
          .default('')
          .refine((v) => v === '' || isIPv4(v), 'must be an IPv4 address, or empty to detect it')
          .describe('IPv4 address servers are told to boot from (siaddr, TFTP, HTTP URLs); empty: the one local address on provisioningNetwork'),
        provisioningNetwork: z
          .string()
          .default('')
          .refine((v) => v === '' || isCidr(v), 'must be an IPv4 CIDR such as 10.0.0.0/24, or empty')
          .describe('IPv4 CIDR of the provisioning network, used to detect advertiseAddress; empty: the only non-loopback IPv4 address'),
        httpBaseUrl: z
          .string()
          .default('')
          .refine((v) => v === '' || /^http:\/\/[^/?#]+$/.test(v), 'must be http://host[:port] without a path (iPXE here has no HTTPS), or empty')
          .describe('base URL booting servers use for scripts and images; empty: http://<advertiseAddress>:<http.port>'),
        tokenTtlSeconds: z.number().int().min(60).max(86_400).default(600).describe('lifetime of the per-boot token in an iPXE script'),
        discovery: z.boolean().default(false).describe('answer PXE clients whose MAC belongs to no host (they get a local-boot script)'),
        assetsDir: z.string().min(1).default('assets').describe('directory served at /boot-assets/ (inspector kernel and initrd, images), relative to dataDir unless absolute'),
        inspectorKernel: z.string().min(1).default('inspector/vmlinuz').describe('inspector kernel, relative to assetsDir'),
        inspectorInitrd: z.string().min(1).default('inspector/initramfs.gz').describe('inspector initramfs, relative to assetsDir'),
        inspectorCmdline: z.string().max(2048).default('console=tty0 console=ttyS0,115200').describe('extra kernel command line for the inspector'),
        biosBootFile: z.string().min(1).default('undionly.kpxe').describe('TFTP boot file for legacy BIOS PXE clients'),
        efiBootFile: z.string().min(1).default('snponly.efi').describe('TFTP boot file for x86-64 UEFI PXE clients (snponly.efi or ipxe.efi)'),
        arm64BootFile: z.string().min(1).default('arm64/snponly.efi').describe('TFTP boot file for arm64 UEFI PXE clients'),
      })
      .strict()
      .prefault({}),
    redfish: z
      .object({
        maxConcurrentBmcs: z.number().int().min(1).max(10_000).default(256).describe('BMCs the daemon talks to at once (one operation per BMC at a time)'),
        requestTimeoutMs: z.number().int().min(1000).max(300_000).default(15_000).describe('deadline of one HTTP request to a BMC'),
        retryAttempts: z.number().int().min(1).max(20).default(8).describe('tries of a request that failed transiently (5xx, dropped connection), with backoff and jitter'),
        powerDeadlineSeconds: z.number().int().min(5).max(3600).default(120).describe('how long a power state change may take before it is an error'),
        gracefulShutdownSeconds: z.number().int().min(0).max(3600).default(120).describe('how long a graceful shutdown may take before power is forced off'),
      })
      .strict()
      .prefault({}),
    lifecycle: z
      .object({
        inspectOnEnroll: z.boolean().default(false).describe('inspect every host right after enrollment, so its hardware is known before machines ask for it'),
        inspectionTimeoutSeconds: z.number().int().min(1).max(86_400).default(600).describe('how long a booted host may take to send its hardware report before the inspection times out'),
        provisionTimeoutSeconds: z.number().int().min(1).max(86_400).default(3600).describe('how long provisioning (download, write or kexec, boot) may take before it fails'),
        wipeTimeoutSeconds: z.number().int().min(1).max(604_800).default(14_400).describe('how long a deprovisioning wipe may take'),
        retryBaseSeconds: z.number().min(0.01).max(3600).default(5).describe('first retry delay after a failed step (BMC unreachable); doubles per attempt, with jitter'),
        retryMaxSeconds: z.number().min(0.01).max(86_400).default(600).describe('longest retry delay; failed steps are retried forever at most this far apart'),
        workers: z.number().int().min(1).max(4096).default(128).describe('hosts the engine works on at once (each host has at most one step running)'),
        ramdiskPollSeconds: z.number().int().min(1).max(300).default(5).describe('how long the ramdisk waits between asking for its next action'),
        osTokenTtlSeconds: z.number().int().min(300).max(604_800).default(3600).describe('lifetime of the token the provisioned OS uses for booted and its bootstrap data'),
        bootMode: z.enum(['keep', 'UEFI', 'Legacy']).default('keep').describe('firmware mode of one-time network boots; keep leaves the host as it is (switching can swap its firmware)'),
        logBytesPerHost: z.number().int().min(4096).max(64 * 1024 * 1024).default(1024 * 1024).describe('ramdisk log kept per host (oldest dropped first)'),
      })
      .strict()
      .prefault({}),
    wol: z
      .object({
        broadcast: z.string().default('255.255.255.255').refine(isIPv4, 'must be an IPv4 address').describe('where Wake-on-LAN magic packets are sent'),
        port: z.number().int().min(1).max(65535).default(9).describe('UDP port of Wake-on-LAN packets'),
      })
      .strict()
      .prefault({}),
    dhcp: z
      .object({
        enabled: z.boolean().default(true).describe('run proxyDHCP when the daemon may bind UDP 67 (root or CAP_NET_BIND_SERVICE)'),
        listenAddress: z.string().default('0.0.0.0').refine(isIPv4, 'must be an IPv4 address').describe('address proxyDHCP listens on; 0.0.0.0 receives broadcasts'),
        port: z.number().int().min(1).max(65535).default(67).describe('proxyDHCP port for broadcast DISCOVERs'),
        pxePort: z.number().int().min(1).max(65535).default(4011).describe('PXE boot-server port that UEFI clients ask when option 43 is absent'),
      })
      .strict()
      .prefault({}),
    tftp: z
      .object({
        enabled: z.boolean().default(true).describe('run the read-only TFTP server when the daemon may bind UDP 69'),
        listenAddress: z.string().default('0.0.0.0').refine(isIPv4, 'must be an IPv4 address').describe('address the TFTP server listens on'),
        port: z.number().int().min(0).max(65535).default(69).describe('TFTP port; 0 picks a free one'),
        root: z.string().min(1).default('/usr/lib/ipxe').describe('directory served over TFTP (the distribution iPXE binaries)'),
        maxBlockSize: z.number().int().min(512).max(65464).default(1468).describe('largest blksize granted; 1468 fits a 1500-byte MTU'),
        maxWindowSize: z.number().int().min(1).max(65535).default(64).describe('largest RFC 7440 windowsize granted'),
        timeoutMs: z.number().int().min(100).max(255_000).default(1000).describe('retransmission timeout when the client asks for none'),
        retries: z.number().int().min(1).max(50).default(5).describe('retransmissions before a transfer is abandoned'),
        maxTransfers: z.number().int().min(1).max(10_000).default(256).describe('concurrent transfers; more are refused as busy'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
        requests: z.boolean().default(true).describe('one log line per HTTP request'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
