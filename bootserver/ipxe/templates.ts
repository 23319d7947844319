import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type TemplateName = 'chain' | 'ramdisk' | 'local' | 'unknown';
const NAMES: readonly TemplateName[] = ['chain', 'ramdisk', 'local', 'unknown'];

export class TemplateError extends Error {
  override name = 'TemplateError';
}

// A value may not break out of its line or be expanded by iPXE itself (${...}).
const UNSAFE = /[\r\n\0]|\$\{/;

/**
 * iPXE script templates (`ipxe-templates/*.ipxe`) with `{{name}}` placeholders, loaded and
 * checked once at start; rendering is string substitution with values checked for safety.
 */
export class IpxeTemplates {
  private constructor(private readonly texts: ReadonlyMap<TemplateName, string>) {}

  static load(dir: string): IpxeTemplates {
    const found = new Set(readdirSync(dir));
    const texts = new Map<TemplateName, string>();
    for (const name of NAMES) {
      if (!found.has(`${name}.ipxe`)) throw new TemplateError(`iPXE template ${join(dir, `${name}.ipxe`)} is missing`);
      const text = readFileSync(join(dir, `${name}.ipxe`), 'utf8');
      if (!text.startsWith('#!ipxe\n')) throw new TemplateError(`iPXE template ${name}.ipxe must start with "#!ipxe"`);
      texts.set(name, text);
    }
    return new IpxeTemplates(texts);
  }

  render(name: TemplateName, values: Record<string, string>): string {
    const text = this.texts.get(name) as string;
    return text.replace(/\{\{(\w+)\}\}/g, (_match, key: string) => {
      const value = values[key];
      if (value === undefined) throw new TemplateError(`iPXE template ${name}.ipxe needs a value for {{${key}}}`);
      if (UNSAFE.test(value)) throw new TemplateError(`value for {{${key}}} in ${name}.ipxe contains a line break, NUL or \${`);
      return value;
    });
  }
}
