import { z } from 'zod';

export type LeafKind = 'string' | 'number' | 'boolean' | 'enum' | 'array';

export interface ConfigKey {
  path: string[];
  dotted: string;
  env: string;
  kind: LeafKind;
  description: string;
  defaultValue: unknown;
  choices?: readonly string[];
}

type AnySchema = z.core.$ZodType;

function unwrap(schema: AnySchema): { inner: AnySchema; defaultValue: unknown; description: string } {
  let current = schema;
  let defaultValue: unknown;
  let description = z.globalRegistry.get(schema)?.description ?? '';
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema; defaultValue?: unknown };
    if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional') && def.innerType) {
      if (def.type === 'default') defaultValue = def.defaultValue;
      current = def.innerType;
      description ||= z.globalRegistry.get(current)?.description ?? '';
      continue;
    }
    return { inner: current, defaultValue, description };
  }
}

export function envName(path: readonly string[]): string {
  return ['BESKAR7', ...path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())].join('_');
}

/** Every leaf setting of an object schema, in declaration order. */
export function configKeys(schema: AnySchema, prefix: string[] = []): ConfigKey[] {
  const { inner } = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return [];
  const keys: ConfigKey[] = [];
  const shape: Record<string, AnySchema> = inner.shape;
  for (const [name, child] of Object.entries(shape)) {
    const path = [...prefix, name];
    const { inner: leaf, defaultValue, description } = unwrap(child);
    if (leaf instanceof z.ZodObject) {
      keys.push(...configKeys(leaf, path));
      continue;
    }
    const kind: LeafKind =
      leaf instanceof z.ZodNumber
        ? 'number'
        : leaf instanceof z.ZodBoolean
          ? 'boolean'
          : leaf instanceof z.ZodEnum
            ? 'enum'
            : leaf instanceof z.ZodArray
              ? 'array'
              : 'string';
    keys.push({
      path,
      dotted: path.join('.'),
      env: envName(path),
      kind,
      description,
      defaultValue,
      ...(leaf instanceof z.ZodEnum ? { choices: leaf.options as readonly string[] } : {}),
    });
  }
  return keys;
}

/**
 * Turns the text of an env var or flag into the type the key expects. Text that does not
 * convert is passed on unchanged so zod reports it with the key's name.
 */
export function coerce(kind: LeafKind, text: string): unknown {
  const trimmed = text.trim();
  switch (kind) {
    case 'number': {
      const value = Number(trimmed);
      return trimmed !== '' && Number.isFinite(value) ? value : text;
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return text;
    }
    case 'array':
      return trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
    default:
      return text;
  }
}
