/**
 * ETags as BMCs send them: quoted, weak (W/"..."), iDRAC's "-gzip" suffix for a compressed
 * body. Returns the strong form to send back in If-Match, or null.
 */
export function normaliseEtag(raw: string | undefined | null): string | null {
  if (!raw) return null;
  let tag = raw.trim();
  if (tag.startsWith('W/')) tag = tag.slice(2);
  if (!tag.startsWith('"')) tag = `"${tag}`;
  if (!tag.endsWith('"')) tag = `${tag}"`;
  return tag.replace(/-gzip"$/, '"');
}

export function weakForm(strong: string): string {
  return `W/${strong}`;
}
