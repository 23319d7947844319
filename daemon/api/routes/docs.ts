import { defineRoute, type AnyRouteSpec } from '../route.js';

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

type Doc = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function renderOperation(method: string, path: string, op: Doc): string {
  const params = (op.parameters as Doc[] | undefined) ?? [];
  const body = (op.requestBody as { content: Record<string, { schema: unknown }> } | undefined)?.content['application/json']?.schema;
  const responses = Object.entries((op.responses as Record<string, Doc>) ?? {});
  const secured = Array.isArray(op.security) && op.security.length > 0;
  return `<section class="op" id="${escape(String(op.operationId))}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code>${secured ? ' <span class="lock">token</span>' : ''}</h3>
<p>${escape(text(op.summary))}</p>${op.description ? `<p class="d">${escape(text(op.description))}</p>` : ''}
${params.length ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${params.map((p) => `<tr><td><code>${escape(String(p.name))}</code></td><td>${escape(String(p.in))}</td><td>${p.required ? 'yes' : 'no'}</td><td><code>${escape(JSON.stringify(p.schema))}</code></td></tr>`).join('')}</table>` : ''}
${body ? `<details><summary>request body</summary><pre>${escape(JSON.stringify(body, null, 2))}</pre></details>` : ''}
<ul>${responses.map(([status, r]) => `<li><b>${escape(status)}</b> ${escape(text(r.description))}</li>`).join('')}</ul>
</section>`;
}

/** A self-contained HTML page from the OpenAPI document: no CDN, works on an air-gapped host. */
export function renderDocsPage(doc: Doc): string {
  const paths = doc.paths as Record<string, Record<string, Doc>>;
  const ops = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const tags = [...new Set(ops.map(({ op }) => String((op.tags as string[])[0])))];
  const info = doc.info as { title: string; version: string; description: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} API</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d2330}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f5f7;padding:.8em;overflow:auto}
.op{border-top:1px solid #dde;padding:.4em 0}.m{display:inline-block;min-width:4.2em;text-align:center;color:#fff;border-radius:3px;padding:0 .3em}
.get{background:#2f6fde}.post{background:#1e9b59}.patch{background:#c47f00}.delete{background:#c4332b}.put{background:#7a4ccf}
.lock{font-size:12px;color:#666;border:1px solid #ccc;border-radius:3px;padding:0 .3em}.d{color:#444}table{border-collapse:collapse}td,th{border:1px solid #dde;padding:.2em .5em;text-align:left}</style>
</head><body><h1>${escape(info.title)} <small>${escape(info.version)}</small></h1><p>${escape(info.description)}
Machine-readable: <a href="/openapi.json">/openapi.json</a>. Authenticated calls send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
${tags.map((tag) => `<h2>${escape(tag)}</h2>${ops.filter(({ op }) => (op.tags as string[])[0] === tag).map(({ path, method, op }) => renderOperation(method, path, op)).join('\n')}`).join('\n')}
</body></html>`;
}

export function docsRoutes(document: () => Doc): AnyRouteSpec[] {
  let page: string | undefined;
  return [
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This OpenAPI document',
      tag: 'operations',
      auth: 'public',
      responses: { 200: { description: 'OpenAPI 3.1 document' } },
      handler: () => document(),
    }),
    defineRoute({
      method: 'GET',
      url: '/docs',
      summary: 'API documentation page',
      tag: 'operations',
      auth: 'public',
      responses: { 200: { description: 'HTML', contentType: 'text/html' } },
      handler: (_input, _request, reply) => reply.type('text/html; charset=utf-8').send((page ??= renderDocsPage(document()))),
    }),
  ];
}
