import { z } from 'zod';
import { hostStates, inspectionPhases, powerControls } from '../../../daemon/core/schemas/host.js';
import { diskTypes } from '../../../daemon/core/schemas/ramdisk.js';
import { conditions, macAddress, objectName, objectReference, pemBundle, resourceSchema, timestamp, withRules } from './common.js';

// The enums come from the daemon's schemas: the shim mirrors daemon state, so the CRD must accept
// every value the daemon can report (a new daemon state regenerates the CRD).

const redfishConnection = z
  .object({
    address: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#@]+\/?$/, 'must be the BMC base URL (scheme, host, optional port), without credentials or a path')
      .describe('Base URL of the BMC\'s Redfish service, e.g. https://192.168.1.100 (no /redfish/v1 path).'),
    credentialsSecretRef: objectName.describe(
      'Name of a Secret in the PhysicalHost\'s namespace holding the BMC login under the keys "username" and "password".',
    ),
    insecureSkipVerify: z
      .boolean()
      .default(false)
      .describe('Accept any TLS certificate from the BMC. For labs only; prefer caBundle.'),
    systemId: z
      .string()
      .min(1)
      .max(256)
      .nullish()
      .describe('Redfish ComputerSystem id to manage when the BMC exposes more than one; unset: the only system.'),
    caBundle: pemBundle.nullish().describe('PEM CA certificates that sign the BMC\'s TLS certificate.'),
  })
  .strict()
  .describe('How to reach the host\'s BMC over Redfish (power and one-time network boot).');

export const physicalHostSpecSchema = withRules(
  z
    .object({
      redfishConnection: redfishConnection.optional(),
      bootMACAddresses: z
        .array(macAddress)
        .max(16)
        .refine((macs) => new Set(macs.map((m) => m.toLowerCase().replaceAll('-', ':'))).size === macs.length, 'must not repeat a MAC address')
        .meta({ 'x-kubernetes-list-type': 'set' })
        .optional()
        .describe('MAC addresses the host network-boots from; learned from the BMC when empty. Required for powerControl wol.'),
      daemonRef: objectName
        .optional()
        .describe('Name of the Beskar7 daemon (as configured in the shim) that serves this host\'s provisioning network; unset: the shim\'s default daemon.'),
      powerControl: z
        .enum(powerControls)
        .default('redfish')
        .describe('How the daemon powers the host: redfish (BMC), wol (Wake-on-LAN to a boot MAC) or manual (an operator presses the button).'),
    })
    .strict()
    .describe('Desired state of a PhysicalHost: how to reach and boot it. Labels of the PhysicalHost become the daemon host\'s labels.'),
  [
    {
      rule: "self.powerControl != 'redfish' || has(self.redfishConnection)",
      message: 'redfishConnection is required when powerControl is redfish',
      holds: (spec) => spec.powerControl !== 'redfish' || spec.redfishConnection !== undefined,
      path: ['redfishConnection'],
    },
    {
      rule: "self.powerControl != 'wol' || (has(self.bootMACAddresses) && size(self.bootMACAddresses) > 0)",
      message: 'bootMACAddresses needs at least one MAC when powerControl is wol (the magic packet goes to it)',
      holds: (spec) => spec.powerControl !== 'wol' || (spec.bootMACAddresses?.length ?? 0) > 0,
      path: ['bootMACAddresses'],
    },
  ],
);

const count = z.number().int().min(0).max(1_000_000);
const gigabytes = z.number().min(0).max(1_048_576);
const bytes = z.number().int().min(0);
// Unknown values are null in the daemon's report, but a JSON merge patch deletes null fields, so
// absent must mean the same as null here.
const reportText = (max: number, what: string) => z.string().max(max).nullish().describe(`${what}; null or absent when unknown.`);

// Field for field the daemon's inspection report (daemon/core/schemas/ramdisk.ts), which keeps the
// seed's field names; a unit test fails when the two drift apart.
export const inspectionReportSchema = z
  .object({
    timestamp: timestamp.optional().describe('When the ramdisk took the report (by its own clock).'),
    bootMACAddress: macAddress.describe('MAC of the NIC the host network-booted from.'),
    cpus: z
      .object({
        count: count.describe('CPU sockets.'),
        cores: count.describe('Physical cores, all sockets together.'),
        threads: count.describe('Hardware threads (logical CPUs).'),
        model: z.string().max(256).describe('CPU model name.'),
        architecture: z.enum(['x86_64', 'aarch64', 'unknown']).describe('CPU architecture.'),
        mhz: z.number().min(0).max(100_000).describe('Nominal clock in MHz.'),
      })
      .strict()
      .describe('Processors.'),
    memory: z
      .object({
        totalBytes: bytes.describe('Installed memory in bytes.'),
        totalGB: gigabytes.describe('Installed memory in GB.'),
      })
      .strict()
      .describe('Memory.'),
    disks: z
      .array(
        z
          .object({
            device: z.string().max(256).regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, 'must be a /dev path').describe('Block device path, e.g. /dev/sda.'),
            sizeBytes: bytes.describe('Capacity in bytes.'),
            sizeGB: gigabytes.describe('Capacity in GB.'),
            type: z.enum(diskTypes).describe('Kind of disk.'),
            model: reportText(256, 'Disk model'),
            serial: reportText(256, 'Disk serial number'),
          })
          .strict(),
      )
      .max(256)
      .describe('Block devices.'),
    nics: z
      .array(
        z
          .object({
            interface: z.string().min(1).max(64).describe('Interface name in the ramdisk, e.g. eth0.'),
            macAddress: macAddress.describe('MAC address of the interface.'),
            linkStatus: z.enum(['up', 'down', 'unknown']).describe('Link state when inspected.'),
            speedMbps: z
              .number()
              .int()
              .min(0)
              .max(10_000_000)
              .nullish()
              .describe('Link speed in Mbit/s; null or absent when the link is down or the driver does not say.'),
            driver: reportText(128, 'Kernel driver'),
          })
          .strict(),
      )
      .max(256)
      .describe('Network interfaces.'),
    system: z
      .object({
        manufacturer: reportText(256, 'System manufacturer'),
        model: reportText(256, 'System model'),
        serialNumber: reportText(256, 'System serial number'),
        biosVersion: reportText(256, 'Firmware version'),
        bmcAddress: reportText(256, 'Address of the BMC as the host sees it'),
      })
      .strict()
      .describe('System identity (DMI).'),
  })
  .strict()
  .describe('Hardware found by the inspection ramdisk, as the daemon received it.');

export const physicalHostStatusSchema = z
  .object({
    state: z.enum(hostStates).optional().describe('Lifecycle state of the host in the daemon.'),
    powerState: z.string().max(32).optional().describe('Power state the BMC reports (On, Off, PoweringOn, PoweringOff, Unknown).'),
    inspectionPhase: z.enum(inspectionPhases).optional().describe('Phase of the current or last inspection.'),
    inspectionReport: inspectionReportSchema.optional(),
    hardwareSummary: z
      .object({
        cpuCores: count.describe('Physical CPU cores.'),
        memoryGB: gigabytes.describe('Installed memory in GB.'),
        diskGB: gigabytes.describe('Capacity of all disks together in GB.'),
      })
      .strict()
      .optional()
      .describe('Totals from the inspection report, for printer columns and quick reads.'),
    system: z
      .object({
        manufacturer: reportText(256, 'Manufacturer'),
        model: reportText(256, 'Model'),
        serialNumber: reportText(256, 'Serial number'),
        uuid: reportText(64, 'System UUID'),
        biosVersion: reportText(256, 'Firmware version'),
      })
      .strict()
      .optional()
      .describe('System identity the BMC reported at enrollment.'),
    ready: z.boolean().optional().describe('True when the host is enrolled and can be claimed or is serving a machine.'),
    machineRef: objectReference.optional().describe('The Beskar7Machine that has claimed this host.'),
    lastError: z.string().max(4096).optional().describe('The last error the daemon recorded for the host; cleared when it recovers.'),
    conditions: conditions.optional(),
    observedGeneration: z.number().int().min(0).optional().describe('The .metadata.generation this status was computed from.'),
  })
  .strict()
  .describe('Observed state of a PhysicalHost, mirrored from the daemon.');

export const physicalHostSchema = resourceSchema('PhysicalHost', physicalHostSpecSchema, physicalHostStatusSchema);

export type PhysicalHostSpec = z.infer<typeof physicalHostSpecSchema>;
export type PhysicalHostStatus = z.infer<typeof physicalHostStatusSchema>;
export type PhysicalHost = z.infer<typeof physicalHostSchema>;
export type InspectionReport = z.infer<typeof inspectionReportSchema>;
