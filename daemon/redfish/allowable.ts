import type { BmcConnection, Json } from './connection.js';

/**
 * The values a BMC says it accepts for a property or action parameter, from
 * `<name>@Redfish.AllowableValues` or, when it only links an ActionInfo (AMI, OpenBMC), from
 * there. Null when it says nothing (then anything standard may work).
 */
export async function allowableValues(connection: BmcConnection, holder: Json | undefined, name: string): Promise<string[] | null> {
  if (!holder) return null;
  const inline = holder[`${name}@Redfish.AllowableValues`];
  if (Array.isArray(inline)) return clean(inline);
  const infoLink = holder['@Redfish.ActionInfo'];
  if (typeof infoLink !== 'string') return null;
  const info = await connection.get(infoLink);
  const parameters = Array.isArray(info.body.Parameters) ? (info.body.Parameters as Json[]) : [];
  const parameter = parameters.find((p) => p.Name === name);
  return Array.isArray(parameter?.AllowableValues) ? clean(parameter.AllowableValues) : null;
}

// Supermicro has sent values with stray spaces and odd case (quirk 8).
function clean(values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string').map((v) => v.trim());
}

/** The BMC's own spelling of the first wanted value it allows (case-insensitive), or null. */
export function pick(allowed: string[] | null, ...wanted: string[]): string | null {
  if (allowed === null) return wanted[0] ?? null;
  for (const want of wanted) {
    const found = allowed.find((value) => value.toLowerCase() === want.toLowerCase());
    if (found) return found;
  }
  return null;
}
