import { z } from 'zod';
import { conditions, resourceSchema, stringMap } from './common.js';

export const controlPlaneEndpointSchema = z
  .object({
    host: z
      .string()
      .max(512)
      .describe('DNS name or IP address of the Kubernetes API; empty until set or derived from a ready control-plane machine.'),
    port: z.number().int().min(1).max(65_535).default(6443).describe('TCP port of the Kubernetes API.'),
  })
  .strict()
  .describe('Where the workload cluster\'s API server is reached (CAPI contract).');

export const beskar7ClusterSpecSchema = z
  .object({
    controlPlaneEndpoint: controlPlaneEndpointSchema.optional(),
  })
  .strict()
  .describe('Desired state of a Beskar7Cluster.');

const failureDomain = z
  .object({
    controlPlane: z.boolean().optional().describe('Whether control-plane machines may be placed here.'),
    attributes: stringMap.optional().describe('Free-form attributes of the failure domain.'),
  })
  .strict();

export const beskar7ClusterStatusSchema = z
  .object({
    ready: z.boolean().optional().describe('CAPI v1beta1 contract: true when the cluster infrastructure is ready.'),
    initialization: z
      .object({
        provisioned: z.boolean().optional().describe('True once the cluster infrastructure is provisioned; never reset.'),
      })
      .strict()
      .optional()
      .describe('CAPI v1beta2 contract: initial provisioning progress.'),
    failureDomains: z
      .record(z.string().min(1).max(256), failureDomain)
      .optional()
      .describe('Failure domains by name, from the topology.kubernetes.io/zone labels of the PhysicalHosts (CAPI v1beta1 contract: a map).'),
    failureReason: z.string().max(256).optional().describe('Set on a terminal problem that needs a human (CAPI contract); machine-readable.'),
    failureMessage: z.string().max(10_240).optional().describe('Set on a terminal problem that needs a human (CAPI contract); human-readable.'),
    conditions: conditions.optional(),
  })
  .strict()
  .describe('Observed state of a Beskar7Cluster.');

export const beskar7ClusterSchema = resourceSchema('Beskar7Cluster', beskar7ClusterSpecSchema.default({}), beskar7ClusterStatusSchema);

export type ControlPlaneEndpoint = z.infer<typeof controlPlaneEndpointSchema>;
export type Beskar7ClusterSpec = z.infer<typeof beskar7ClusterSpecSchema>;
export type Beskar7ClusterStatus = z.infer<typeof beskar7ClusterStatusSchema>;
export type Beskar7Cluster = z.infer<typeof beskar7ClusterSchema>;
