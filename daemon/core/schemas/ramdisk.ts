import { z } from 'zod';
import { httpUrlSchema, macSchema } from './common.js';

// The wire contract between the daemon and the ramdisk (inspector/). Field names follow the
// seed's inspectionReport; every number is bounded so a hostile report cannot store nonsense.

const text = (max: number) => z.string().max(max);
const optionalText = (max: number) => text(max).nullable().default(null);
const count = z.number().int().min(0).max(1_000_000);

export const diskTypes = ['SSD', 'HDD', 'NVMe', 'Unknown'] as const;

export const inspectionReportSchema = z
  .object({
    /** When the ramdisk took the report (its clock; the daemon also stamps receivedAt). */
    timestamp: z.iso.datetime({ offset: true }).optional(),
    /** The MAC the host network-booted from (BOOTIF): ties the report to the NIC proxyDHCP saw. */
    bootMACAddress: macSchema,
    cpus: z
      .object({
        /** Sockets. */
        count: count,
        /** Physical cores, all sockets together. */
        cores: count,
        /** Hardware threads (logical CPUs). */
        threads: count,
        model: text(256),
        architecture: z.enum(['x86_64', 'aarch64', 'unknown']),
        mhz: z.number().min(0).max(100_000),
      })
      .strict(),
    memory: z
      .object({
        totalBytes: z.number().int().min(0).max(2 ** 53 - 1),
        totalGB: z.number().min(0).max(1_048_576),
      })
      .strict(),
    disks: z
      .array(
        z
          .object({
            device: z.string().regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, 'must be a /dev path').max(256),
            sizeBytes: z.number().int().min(0).max(2 ** 53 - 1),
            sizeGB: z.number().min(0).max(1_048_576),
            type: z.enum(diskTypes),
            model: optionalText(256),
            serial: optionalText(256),
          })
          .strict(),
      )
      .max(256),
    nics: z
      .array(
        z
          .object({
            interface: text(64).min(1),
            macAddress: macSchema,
            linkStatus: z.enum(['up', 'down', 'unknown']),
            /** null when the link is down or the driver does not say. */
            speedMbps: z.number().int().min(0).max(10_000_000).nullable(),
            driver: optionalText(128),
          })
          .strict(),
      )
      .max(256),
    system: z
      .object({
        manufacturer: optionalText(256),
        model: optionalText(256),
        serialNumber: optionalText(256),
        biosVersion: optionalText(256),
        bmcAddress: optionalText(256),
      })
      .strict(),
  })
  .strict();
export type InspectionReport = z.output<typeof inspectionReportSchema>;

/** Reports are small (a few KiB for a large server); anything near this is hostile. */
export const MAX_REPORT_BYTES = 1024 * 1024;
export const MAX_LOG_CHUNK_BYTES = 256 * 1024;

const artifactSchema = z.object({ url: httpUrlSchema, sha256: z.string() }).strict();

/** What the ramdisk should do next; the answer to GET …/next. */
export const nextActionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('wait'), retryAfterSeconds: z.number().int().min(1), reason: z.string() }).strict(),
  z
    .object({
      action: z.literal('kexec'),
      kernel: artifactSchema.optional(),
      initrd: artifactSchema.optional(),
      /** A tar.gz holding the kernel (vmlinuz*, bzImage, Image, kernel) and initrd (initrd*, initramfs*); optional `cmdline` file. */
      tarball: artifactSchema.optional(),
      cmdline: z.string(),
    })
    .strict(),
  z
    .object({
      action: z.literal('disk'),
      image: z.object({ url: httpUrlSchema, sha256: z.string(), format: z.enum(['raw', 'gzip', 'zstd']) }).strict(),
      rootDeviceHints: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    })
    .strict(),
  z
    .object({
      action: z.literal('wipe'),
      /** Devices to wipe; empty means every disk of the report. */
      disks: z.array(z.string()),
      method: z.enum(['metadata', 'discard', 'zero']),
    })
    .strict(),
  z.object({ action: z.literal('poweroff'), reason: z.string() }).strict(),
]);
export type NextAction = z.output<typeof nextActionSchema>;

export const progressPhases = ['downloading', 'verifying', 'writing', 'kexec', 'wiping', 'wiped', 'failed', 'info'] as const;

export const progressSchema = z
  .object({
    phase: z.enum(progressPhases),
    message: z.string().max(4096).default(''),
    /** Machine-readable cause of a failure: ChecksumMismatch, DownloadFailed, NoTargetDisk, WriteFailed, KexecFailed, WipeFailed. */
    reason: z
      .string()
      .regex(/^[A-Z][A-Za-z]{0,63}$/, 'must be a CamelCase reason such as ChecksumMismatch')
      .optional(),
    /** For wiped: which disks were wiped. */
    disks: z.array(z.string().max(256)).max(256).optional(),
  })
  .strict();
export type ProgressReport = z.output<typeof progressSchema>;

export const bootedSchema = z
  .object({
    /** Who reports: the ramdisk right before kexec, or the installed OS. */
    source: z.enum(['ramdisk', 'os']).default('os'),
    /** Addresses the booted OS has, for the machine's status (CAPI Machine addresses). */
    addresses: z
      .array(z.object({ type: z.enum(['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']), address: z.string().min(1).max(253) }).strict())
      .max(32)
      .default([]),
  })
  .strict();
export type BootedReport = z.output<typeof bootedSchema>;
