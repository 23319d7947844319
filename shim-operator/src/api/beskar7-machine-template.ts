import { z } from 'zod';
import { machineSpecRules, machineTemplateSpecFields } from './beskar7-machine.js';
import { resourceSchema, templateMetadata, withRules } from './common.js';

// CAPI copies spec.template.spec into each Beskar7Machine it creates (MachineDeployment,
// KubeadmControlPlane), so the template spec is a machine spec minus what the controller sets.
const machineTemplateMachineSpec = withRules(
  z
    .object(machineTemplateSpecFields)
    .strict()
    .describe('The spec of every Beskar7Machine made from this template (a Beskar7Machine spec without providerID).'),
  machineSpecRules,
);

export const beskar7MachineTemplateSpecSchema = z
  .object({
    template: z
      .object({
        metadata: templateMetadata.optional().describe('Labels and annotations for the Beskar7Machines made from this template.'),
        spec: machineTemplateMachineSpec,
      })
      .strict()
      .describe('The Beskar7Machine to stamp out.'),
  })
  .strict()
  .describe('Desired state of a Beskar7MachineTemplate.');

// Templates have no observed state; the CRD still offers a status for tools that expect one.
export const beskar7MachineTemplateStatusSchema = z.object({}).strict().describe('Beskar7MachineTemplates have no observed state.');

export const beskar7MachineTemplateSchema = resourceSchema(
  'Beskar7MachineTemplate',
  beskar7MachineTemplateSpecSchema,
  beskar7MachineTemplateStatusSchema,
);

export type Beskar7MachineTemplateSpec = z.infer<typeof beskar7MachineTemplateSpecSchema>;
export type Beskar7MachineTemplate = z.infer<typeof beskar7MachineTemplateSchema>;
