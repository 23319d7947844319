import { z } from 'zod';
import { beskar7ClusterSpecSchema } from './beskar7-cluster.js';
import { resourceSchema, templateMetadata } from './common.js';

// ClusterClass stamps Beskar7Clusters out of spec.template.spec.
export const beskar7ClusterTemplateSpecSchema = z
  .object({
    template: z
      .object({
        metadata: templateMetadata.optional().describe('Labels and annotations for the Beskar7Clusters made from this template.'),
        spec: beskar7ClusterSpecSchema,
      })
      .strict()
      .describe('The Beskar7Cluster to stamp out.'),
  })
  .strict()
  .describe('Desired state of a Beskar7ClusterTemplate.');

export const beskar7ClusterTemplateStatusSchema = z.object({}).strict().describe('Beskar7ClusterTemplates have no observed state.');

export const beskar7ClusterTemplateSchema = resourceSchema(
  'Beskar7ClusterTemplate',
  beskar7ClusterTemplateSpecSchema,
  beskar7ClusterTemplateStatusSchema,
);

export type Beskar7ClusterTemplateSpec = z.infer<typeof beskar7ClusterTemplateSpecSchema>;
export type Beskar7ClusterTemplate = z.infer<typeof beskar7ClusterTemplateSchema>;
