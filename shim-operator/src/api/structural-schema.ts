import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { CelRule } from './common.js';

// Turns a zod schema into a Kubernetes *structural* OpenAPI v3 schema (the kind a CRD must carry):
// every node typed, no $ref, no additionalProperties: false, nullable as `nullable: true`, unions of
// objects flattened into one object with an enum discriminator and CEL rules per branch.
// Anything it cannot express faithfully makes it throw, naming the path: a silently weaker CRD is
// worse than a failing generator.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type StructuralType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface StructuralSchema {
  type: StructuralType;
  description?: string;
  nullable?: boolean;
  default?: JsonValue;
  format?: string;
  enum?: JsonValue[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

type JsonSchemaNode = Record<string, unknown>;

const STRUCTURAL_TYPES: readonly string[] = ['object', 'array', 'string', 'integer', 'number', 'boolean'];

// Copied as they are (after a type check). Everything else a zod JSON Schema may hold is either
// handled explicitly below or rejected.
const SCALAR_KEYWORDS = [
  'description',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'nullable',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;

const HANDLED_KEYWORDS = new Set<string>([
  ...SCALAR_KEYWORDS,
  'type',
  'enum',
  'default',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'oneOf',
  'anyOf',
  'propertyNames',
  'x-kubernetes-validations',
]);

const INT32 = 2 ** 31;

export class StructuralSchemaError extends Error {}

export function toStructuralSchema(schema: z.ZodType): StructuralSchema {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    // What users may write (before zod's transforms and defaults), which is what the apiserver sees.
    io: 'input',
    reused: 'inline',
    cycles: 'throw',
    unrepresentable: 'throw',
  }) as JsonSchemaNode;
  delete json.$schema;
  return convert(json, '');
}

function fail(path: string, problem: string): never {
  throw new StructuralSchemaError(`${path || '<root>'}: ${problem}`);
}

function convert(node: JsonSchemaNode, path: string): StructuralSchema {
  for (const key of Object.keys(node)) {
    if (!HANDLED_KEYWORDS.has(key)) fail(path, `keyword "${key}" has no structural equivalent`);
  }
  if (node.oneOf !== undefined || node.anyOf !== undefined) return convertUnion(node, path);

  const type = node.type;
  if (typeof type !== 'string' || !STRUCTURAL_TYPES.includes(type)) {
    fail(path, `needs a single structural type, got ${JSON.stringify(type)} (free-form values are not allowed here)`);
  }
  const out: StructuralSchema = { type: type as StructuralType };
  for (const key of SCALAR_KEYWORDS) {
    if (node[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = node[key];
  }
  if (node.enum !== undefined) out.enum = node.enum as JsonValue[];
  if (node.default !== undefined) out.default = node.default as JsonValue;
  const rules = node['x-kubernetes-validations'];
  if (rules !== undefined) out['x-kubernetes-validations'] = rules as CelRule[];

  if (out.type === 'integer') applyIntegerFormat(out);
  // zod spells date-time twice (format and a JavaScript regex); the apiserver checks the format itself.
  if (out.format === 'date-time') delete out.pattern;

  if (out.type === 'object') convertObjectParts(node, out, path);
  if (out.type === 'array') {
    if (typeof node.items !== 'object' || node.items === null || Array.isArray(node.items)) fail(path, 'an array needs one items schema');
    out.items = convert(node.items as JsonSchemaNode, `${path}[*]`);
  }
  return out;
}

function convertObjectParts(node: JsonSchemaNode, out: StructuralSchema, path: string): void {
  const properties = node.properties as Record<string, JsonSchemaNode> | undefined;
  const additional = node.additionalProperties;
  if (properties && Object.keys(properties).length > 0) {
    out.properties = {};
    for (const [name, child] of Object.entries(properties)) out.properties[name] = convert(child, `${path}.${name}`);
    const required = node.required as string[] | undefined;
    if (required && required.length > 0) out.required = [...required];
  }
  // `false` is zod's .strict(); the apiserver prunes unknown fields anyway and forbids the keyword.
  // propertyNames (record keys) has no structural equivalent; zod still checks keys in the controllers.
  if (typeof additional === 'object' && additional !== null) {
    if (out.properties) fail(path, 'properties and additionalProperties cannot be combined');
    out.additionalProperties = convert(additional as JsonSchemaNode, `${path}.*`);
  }
}

function applyIntegerFormat(out: StructuralSchema): void {
  // zod bounds every integer by Number.MAX_SAFE_INTEGER; that is JavaScript's limit, not the field's.
  if (out.minimum === -Number.MAX_SAFE_INTEGER) delete out.minimum;
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  const fitsInt32 = out.minimum !== undefined && out.maximum !== undefined && out.minimum >= -INT32 && out.maximum < INT32;
  out.format = fitsInt32 ? 'int32' : 'int64';
}

/**
 * A union of objects with a discriminator (zod's discriminatedUnion) becomes one object holding every
 * branch's properties, the discriminator an enum of all branch values. What each branch requires or
 * does not take becomes a CEL rule guarded by the discriminator: the apiserver then answers
 * "mode disk needs: url, sha256" where a value-only oneOf would list every branch's mismatch.
 */
function convertUnion(node: JsonSchemaNode, path: string): StructuralSchema {
  const rawBranches = (node.oneOf ?? node.anyOf) as JsonSchemaNode[];
  const branches = rawBranches.map((branch, i) => convert(branch, `${path}<branch ${i}>`));
  if (branches.some((b) => b.type !== 'object' || !b.properties)) fail(path, 'only unions of objects can be made structural');
  const objects = branches as ObjectBranch[];

  const discriminator = findDiscriminator(objects, path);
  for (const name of objects.flatMap((b) => Object.keys(b.properties))) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`${path}.${name}`, 'a union field name must be a CEL identifier');
  }
  const merged: Record<string, StructuralSchema> = {};
  const owners = new Map<string, number>();
  for (const branch of objects) {
    for (const [name, prop] of Object.entries(branch.properties)) {
      owners.set(name, (owners.get(name) ?? 0) + 1);
      if (name === discriminator) continue;
      const seen = merged[name];
      if (seen && !isDeepStrictEqual(seen, prop)) fail(`${path}.${name}`, 'differs between union branches');
      merged[name] = prop;
    }
  }
  for (const [name, prop] of Object.entries(merged)) {
    if (prop.default !== undefined && owners.get(name) !== objects.length) {
      fail(`${path}.${name}`, 'a field of only some union branches cannot have a default (the apiserver would apply it in every branch)');
    }
  }

  const discriminatorProp: StructuralSchema = { type: 'string', enum: objects.flatMap((b) => discriminatorValues(b, discriminator)) };
  const descriptions = objects.map((b) => b.properties[discriminator]?.description).filter((d) => d !== undefined);
  if (descriptions.length > 0) discriminatorProp.description = descriptions.join(' ');
  const rules = [
    ...((node['x-kubernetes-validations'] as CelRule[] | undefined) ?? []),
    ...objects.flatMap((branch) => branchRules(branch, discriminator, Object.keys(merged))),
  ];
  return {
    type: 'object',
    ...(typeof node.description === 'string' ? { description: node.description } : {}),
    ...(node.nullable === true ? { nullable: true } : {}),
    ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
    properties: { [discriminator]: discriminatorProp, ...merged },
    required: [discriminator, ...Object.keys(merged).filter((name) => objects.every((b) => b.required?.includes(name)))],
  };
}

type ObjectBranch = StructuralSchema & { properties: Record<string, StructuralSchema> };

// findDiscriminator has made sure these are strings.
const discriminatorValues = (branch: ObjectBranch, discriminator: string): string[] =>
  (branch.properties[discriminator]?.enum ?? []).filter((value) => typeof value === 'string');

// Rules that hold only for one branch, written so they pass for every other branch.
function branchRules(branch: ObjectBranch, discriminator: string, allFields: string[]): CelRule[] {
  const values = discriminatorValues(branch, discriminator);
  const label = `${discriminator} ${values.join('/')}`;
  const literals = values.map(celLiteral);
  const guard = literals.length === 1 ? `self.${discriminator} != ${literals[0]}` : `!(self.${discriminator} in [${literals.join(', ')}])`;
  const guarded = (rule: string, message: string): CelRule => ({ rule: `${guard} || (${rule})`, message });

  const own = new Set(Object.keys(branch.properties));
  const needed = (branch.required ?? []).filter((name) => name !== discriminator);
  const foreign = allFields.filter((name) => !own.has(name));
  const rules: CelRule[] = [];
  if (needed.length > 0) rules.push(guarded(needed.map((n) => `has(self.${n})`).join(' && '), `${label} needs: ${needed.join(', ')}`));
  if (foreign.length > 0) {
    rules.push(guarded(`!(${foreign.map((n) => `has(self.${n})`).join(' || ')})`, `${label} does not take: ${foreign.join(', ')}`));
  }
  for (const { rule, message } of branch['x-kubernetes-validations'] ?? []) rules.push(guarded(rule, message));
  return rules;
}

function findDiscriminator(objects: ObjectBranch[], path: string): string {
  const candidates = Object.keys(objects[0]?.properties ?? {}).filter((name) =>
    objects.every((b) => {
      const values = b.properties[name]?.enum ?? [];
      return b.required?.includes(name) && values.length > 0 && values.every((value) => typeof value === 'string');
    }),
  );
  for (const name of candidates) {
    const values = objects.flatMap((b) => b.properties[name]?.enum ?? []);
    if (new Set(values).size === values.length) return name;
  }
  return fail(path, 'a union of objects needs a discriminator: a required string field with distinct literal values per branch');
}

function celLiteral(value: string): string {
  // Single quotes keep generated rules in the style of the hand-written ones.
  return /^[\w.-]*$/.test(value) ? `'${value}'` : JSON.stringify(value);
}
