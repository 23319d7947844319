import { z } from 'zod';
import { machinePhases } from '../../../daemon/core/schemas/machine.js';
import { conditions, httpUrl, labelSelector, objectReference, resourceSchema, sha256Hex, withRules } from './common.js';

const artifact = (what: string) =>
  z
    .object({
      url: httpUrl.describe(`Where the daemon's ramdisk downloads the ${what}.`),
      sha256: sha256Hex.describe(`sha256 of the ${what}; the download is refused when it differs.`),
    })
    .strict()
    .describe(`The ${what} and its checksum.`);

// No field of a union branch has a default: the apiserver would apply it whatever the mode, and the
// generated CRD would then reject the other mode (crd generation refuses such defaults).
const kexecImage = withRules(
  z
    .object({
      mode: z.literal('kexec').describe('kexec: the ramdisk kexecs a kernel and initrd (immutable netboot OS).'),
      kernel: artifact('kernel').optional(),
      initrd: artifact('initrd').optional(),
      tarball: artifact('tar.gz holding the kernel (vmlinuz*, bzImage, Image) and initrd (initrd*, initramfs*)').optional(),
      cmdline: z.string().max(4096).optional().describe('Kernel command line for the kexec\'d OS.'),
    })
    .strict(),
  [
    {
      rule: 'has(self.tarball) ? !has(self.kernel) && !has(self.initrd) : has(self.kernel) && has(self.initrd)',
      message: 'a kexec image needs either a tarball or both kernel and initrd',
      holds: (image) => (image.tarball ? !image.kernel && !image.initrd : !!image.kernel && !!image.initrd),
    },
  ],
);

const diskImage = z
  .object({
    mode: z.literal('disk').describe('disk: the ramdisk streams a disk image to a local disk and reboots into it.'),
    url: httpUrl.describe('Where the ramdisk downloads the disk image.'),
    sha256: sha256Hex.describe('sha256 of the image file as downloaded (before decompression).'),
    format: z.enum(['raw', 'gzip', 'zstd']).optional().describe('Encoding of the image file; unset: raw.'),
    rootDeviceHints: z
      .object({
        deviceName: z.string().max(256).regex(/^\/dev\/[A-Za-z0-9/_-]+$/, 'must be a /dev path').optional().describe('Write to this device, e.g. /dev/sda.'),
        model: z.string().max(256).optional().describe('Write to the disk whose model contains this text.'),
        serialNumber: z.string().max(256).optional().describe('Write to the disk with this serial number.'),
        minSizeGB: z.number().positive().max(1_048_576).optional().describe('Write to a disk of at least this many GB.'),
        rotational: z.boolean().optional().describe('Write to a spinning (true) or solid-state (false) disk.'),
      })
      .strict()
      .optional()
      .describe('How to choose the target disk; unset: the first suitable disk.'),
  })
  .strict();

export const imageSchema = z
  .discriminatedUnion('mode', [kexecImage, diskImage])
  .describe('The OS the host ends up running, in the daemon\'s image form. The alternative to targetImageURL.');

export const hardwareRequirementsSchema = z
  .object({
    minCPUCores: z.number().int().min(1).max(65_536).optional().describe('At least this many physical CPU cores.'),
    minMemoryGB: z.number().positive().max(1_048_576).optional().describe('At least this much memory, in GB.'),
    minDiskGB: z.number().positive().max(1_048_576).optional().describe('At least one disk of this size, in GB.'),
    architecture: z.enum(['x86_64', 'aarch64']).optional().describe('CPU architecture the host must have.'),
    minNICSpeedMbps: z.number().int().positive().max(10_000_000).optional().describe('At least one NIC with this link speed, in Mbit/s.'),
    diskType: z.enum(['SSD', 'HDD', 'NVMe']).optional().describe('At least one disk of this kind.'),
  })
  .strict()
  .describe('What the inspected hardware must offer; a host that falls short is released and another is tried.');

const deprovisionSchema = z
  .object({
    wipe: z
      .object({
        method: z
          .enum(['none', 'metadata', 'discard', 'zero'])
          .default('none')
          .describe('none; metadata: wipefs; discard: blkdiscard (zeroing the ends where discard is unsupported); zero: overwrite every byte.'),
        disks: z
          .array(z.string().max(256).regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, 'must be a /dev path'))
          .max(64)
          .optional()
          .describe('Devices to wipe; unset or empty: every disk the ramdisk finds.'),
      })
      .strict()
      .optional()
      .describe('Disk wiping before the host is released.'),
  })
  .strict()
  .describe('What happens to the host\'s disks when the machine lets it go.');

// Shared with Beskar7MachineTemplate, which has everything but providerID.
export const machineTemplateSpecFields = {
  inspectionImageURL: httpUrl
    .optional()
    .describe('Seed field, kept for existing manifests. The daemon boots its own inspection ramdisk, so this is not needed.'),
  targetImageURL: httpUrl
    .optional()
    .describe('Seed short form of image: a tar.gz holding a kernel and initrd that the ramdisk kexecs. Needs targetImageSHA256.'),
  targetImageSHA256: sha256Hex.optional().describe('sha256 of the targetImageURL file.'),
  image: imageSchema.optional(),
  configurationURL: httpUrl
    .optional()
    .describe('URL of OS configuration (cloud-init/ignition) for the host; used when the CAPI Machine has no bootstrap data.'),
  hardwareRequirements: hardwareRequirementsSchema.optional(),
  hostSelector: labelSelector.optional().describe('Labels a PhysicalHost must match to be claimed (in the machine\'s namespace).'),
  deprovision: deprovisionSchema.optional(),
};

type ImageChoice = { image?: unknown; targetImageURL?: string; targetImageSHA256?: string };

// Rules of the machine spec, shared by the template's spec.
export const machineSpecRules: { rule: string; message: string; holds: (spec: ImageChoice) => boolean; path: string[] }[] = [
  {
    rule: 'has(self.image) != has(self.targetImageURL)',
    message: 'give either image or targetImageURL (with targetImageSHA256), not both and not neither',
    holds: (spec) => (spec.image !== undefined) !== (spec.targetImageURL !== undefined),
    path: ['image'],
  },
  {
    rule: 'has(self.targetImageURL) == has(self.targetImageSHA256)',
    message: 'targetImageURL and targetImageSHA256 go together: every artefact is checked against its sha256',
    holds: (spec) => (spec.targetImageURL !== undefined) === (spec.targetImageSHA256 !== undefined),
    path: ['targetImageSHA256'],
  },
];

const providerID = withRules(
  z
    .string()
    .max(512)
    .regex(/^beskar7:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must look like beskar7://<namespace>/<host>')
    .describe('beskar7://<namespace>/<host> of the claimed host; set by the controller and copied to the CAPI Machine and the Node.'),
  [{ rule: 'self == oldSelf', message: 'providerID cannot change once set' }],
);

export const beskar7MachineSpecSchema = withRules(
  z
    .object({ providerID: providerID.optional(), ...machineTemplateSpecFields })
    .strict()
    .describe('Desired state of a Beskar7Machine: which hardware, which OS.'),
  machineSpecRules,
);

const machineAddress = z
  .object({
    type: z.enum(['Hostname', 'ExternalIP', 'InternalIP', 'ExternalDNS', 'InternalDNS']).describe('Kind of address.'),
    address: z.string().min(1).max(253).describe('The address.'),
  })
  .strict();

export const beskar7MachineStatusSchema = z
  .object({
    ready: z.boolean().optional().describe('CAPI v1beta1 contract: true when the host runs the target OS.'),
    initialization: z
      .object({
        provisioned: z.boolean().optional().describe('True once the machine\'s infrastructure is provisioned; never reset.'),
      })
      .strict()
      .optional()
      .describe('CAPI v1beta2 contract: initial provisioning progress.'),
    addresses: z.array(machineAddress).max(32).optional().describe('Addresses the booted OS reported, copied to the CAPI Machine.'),
    phase: z.enum(machinePhases).optional().describe('Phase of the machine in the daemon.'),
    hostRef: objectReference.optional().describe('The PhysicalHost this machine has claimed.'),
    failureReason: z
      .string()
      .max(256)
      .optional()
      .describe('Set on a terminal problem that needs a human (CAPI contract); machine-readable.'),
    failureMessage: z.string().max(10_240).optional().describe('Set on a terminal problem that needs a human (CAPI contract); human-readable.'),
    conditions: conditions.optional(),
  })
  .strict()
  .describe('Observed state of a Beskar7Machine, mirrored from the daemon.');

export const beskar7MachineSchema = resourceSchema('Beskar7Machine', beskar7MachineSpecSchema, beskar7MachineStatusSchema);

export type ImageSpec = z.infer<typeof imageSchema>;
export type HardwareRequirements = z.infer<typeof hardwareRequirementsSchema>;
export type Beskar7MachineSpec = z.infer<typeof beskar7MachineSpecSchema>;
export type Beskar7MachineStatus = z.infer<typeof beskar7MachineStatusSchema>;
export type Beskar7Machine = z.infer<typeof beskar7MachineSchema>;
