/** @jsxImportSource hono/jsx */
// GET /docs: a readable API reference rendered on the server from the OpenAPI document itself,
// so it can never disagree with /openapi.json and needs no CDN or build step.
import type { FC } from 'hono/jsx';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as untyped JSON
type Json = Record<string, any>;

const METHOD_COLORS: Record<string, string> = {
  get: '#1f7a3d',
  post: '#1d4ed8',
  put: '#9a5b00',
  patch: '#7c3aed',
  delete: '#b91c1c',
};

function schemaText(schema: Json | undefined, doc: Json): string {
  if (!schema) return '';
  const resolved = schema.$ref ? (doc.components?.schemas?.[schema.$ref.split('/').pop()] ?? schema) : schema;
  return JSON.stringify(resolved, null, 2);
}

const Operation: FC<{ path: string; method: string; op: Json; doc: Json }> = ({ path, method, op, doc }) => {
  const body = op.requestBody?.content?.['application/json']?.schema;
  const params: Json[] = op.parameters ?? [];
  const security = (op.security ?? []).flatMap((s: Json) => Object.keys(s));
  return (
    <section class="op" id={`${method}-${path}`}>
      <h3>
        <span class="method" style={`background:${METHOD_COLORS[method] ?? '#444'}`}>
          {method.toUpperCase()}
        </span>
        <code>{path}</code>
      </h3>
      {op.summary && <p>{op.summary}</p>}
      {op.description && <p class="desc">{op.description}</p>}
      {security.length > 0 && <p class="auth">Auth: {security.join(', ')}</p>}
      {params.length > 0 && (
        <table>
          <tr>
            <th>parameter</th>
            <th>in</th>
            <th>required</th>
            <th>schema</th>
          </tr>
          {params.map((p) => (
            <tr>
              <td>
                <code>{p.name}</code>
              </td>
              <td>{p.in}</td>
              <td>{p.required ? 'yes' : 'no'}</td>
              <td>
                <code>{JSON.stringify(p.schema)}</code>
              </td>
            </tr>
          ))}
        </table>
      )}
      {body && (
        <details>
          <summary>Request body</summary>
          <pre>{schemaText(body, doc)}</pre>
        </details>
      )}
      <details>
        <summary>Responses: {Object.keys(op.responses ?? {}).join(', ')}</summary>
        {Object.entries<Json>(op.responses ?? {}).map(([status, r]) => (
          <div>
            <strong>{status}</strong> {r.description}
            <pre>{schemaText(r.content?.['application/json']?.schema, doc)}</pre>
          </div>
        ))}
      </details>
    </section>
  );
};

export const DocsPage: FC<{ doc: Json }> = ({ doc }) => {
  const entries = Object.entries<Json>(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op: op as Json })),
  );
  const byTag = new Map<string, typeof entries>();
  for (const e of entries) {
    const tag = e.op.tags?.[0] ?? 'other';
    byTag.set(tag, [...(byTag.get(tag) ?? []), e]);
  }
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{doc.info?.title} — API reference</title>
        <style>{`
          body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1rem;color:#1a1a1a}
          h1{margin-bottom:.2rem} .op{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0}
          .method{color:#fff;border-radius:4px;padding:.1rem .5rem;margin-right:.5rem;font-size:.8rem}
          pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:.8rem} table{border-collapse:collapse}
          td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left} .auth{color:#9a5b00}
          nav a{margin-right:.8rem}
        `}</style>
      </head>
      <body>
        <h1>{doc.info?.title}</h1>
        <p>
          Version {doc.info?.version}. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI {doc.openapi}).
        </p>
        <p>{doc.info?.description}</p>
        <nav>
          {[...byTag.keys()].map((t) => (
            <a href={`#tag-${t}`}>{t}</a>
          ))}
        </nav>
        {[...byTag.entries()].map(([tag, ops]) => (
          <div>
            <h2 id={`tag-${tag}`}>{tag}</h2>
            {ops.map((e) => (
              <Operation path={e.path} method={e.method} op={e.op} doc={doc} />
            ))}
          </div>
        ))}
      </body>
    </html>
  );
};
