// The API contract as a checker, shared by the worker project (inside workerd) and the integration
// project (Node): a response (method, concrete path, status, headers, body) is held against the
// operation the OpenAPI document gives for it — the status must be documented, the response's
// required headers present and valid, the body of the documented media type and, for JSON, valid
// against the documented schema. The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12;
// @cfworker/json-schema validates them in both runtimes (ajv compiles validators with `new Function`,
// which workerd refuses).
import { type Schema, Validator } from '@cfworker/json-schema';

export interface Observation {
  method: string;
  /** Concrete path, query string excluded. */
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

export type Doc = { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, unknown> } };

/** The path template of `doc` that `path` matches: static segments win over parameters (Hono's rule). */
export function templateFor(doc: Doc, method: string, path: string): string | undefined {
  const segments = path.split('/');
  let best: { template: string; score: number } | undefined;
  for (const template of Object.keys(doc.paths)) {
    if (!doc.paths[template]![method.toLowerCase()]) continue;
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    let score = 0;
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      // A parameter matches one non-empty segment (an empty one matches no route: Hono answers 404).
      if (/^\{.+\}$/.test(parts[i]!) && segments[i] !== '') continue;
      if (parts[i] !== segments[i]) {
        ok = false;
        break;
      }
      score++;
    }
    if (ok && (!best || score > best.score)) best = { template, score };
  }
  return best?.template;
}

const validators = new WeakMap<object, Validator>();

/** A validator for one schema of the document; `#/components/schemas/X` refs resolve as `$defs`. */
function validatorFor(doc: Doc, schema: object): Validator {
  let v = validators.get(schema);
  if (!v) {
    const rewrite = (s: unknown) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', '"#/$defs/'));
    const root = { ...rewrite(schema), $defs: rewrite(doc.components?.schemas ?? {}) } as Schema;
    v = new Validator(root, '2020-12', false);
    validators.set(schema, v);
  }
  return v;
}

function headerValue(schema: any, raw: string): unknown {
  if (schema?.type === 'integer' || schema?.type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  return raw;
}

/** What is wrong with one observed response, per its operation in `doc` ([] when it conforms). */
export function violationsOf(doc: Doc, o: Observation): string[] {
  const label = `${o.method} ${o.path} → ${o.status}`;
  const template = templateFor(doc, o.method, o.path);
  if (!template) return [`${label}: no documented operation`];
  const op = doc.paths[template]![o.method.toLowerCase()];
  const response = op.responses?.[String(o.status)] ?? op.responses?.default;
  if (!response) return [`${label}: status not documented for ${o.method} ${template} (${Object.keys(op.responses ?? {}).join(', ')})`];
  const out: string[] = [];
  for (const [name, h] of Object.entries<any>(response.headers ?? {})) {
    const raw = o.headers.get(name);
    if (raw === null) {
      if (h.required) out.push(`${label}: required header ${name} missing`);
      continue;
    }
    if (h.schema) {
      const r = validatorFor(doc, h.schema).validate(headerValue(h.schema, raw));
      if (!r.valid) out.push(`${label}: header ${name}=${raw} does not match its schema`);
    }
  }
  const content = response.content as Record<string, { schema?: object }> | undefined;
  if (!content) {
    if (o.text.length > 0) out.push(`${label}: a body where none is documented`);
    return out;
  }
  const type = (o.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  // A documented media type may carry parameters (`application/openmetrics-text; version=1.0.0`):
  // the response matches it by its essence, the type/subtype before any parameter.
  const media = Object.entries(content).find(([key]) => key.split(';')[0]!.trim().toLowerCase() === type)?.[1];
  if (!media) {
    // An empty body is allowed for HEAD-like answers only when no content is documented.
    out.push(`${label}: content-type ${type || '(none)'} not documented (${Object.keys(content).join(', ')})`);
    return out;
  }
  if (type === 'application/json' && media.schema) {
    let body: unknown;
    try {
      body = JSON.parse(o.text);
    } catch {
      out.push(`${label}: body is not JSON`);
      return out;
    }
    const r = validatorFor(doc, media.schema).validate(body);
    if (!r.valid) {
      const errs = r.errors
        .slice(-3)
        .map((e) => `${e.instanceLocation} ${e.error}`)
        .join('; ');
      out.push(`${label}: body does not match the schema: ${errs}`);
    }
  }
  return out;
}

/** Every observation that breaks the contract; requests matching no operation (a 404 for an unknown
 * path, /openapi.json itself, a cron trigger) are not operations and are skipped. */
export function contractViolations(doc: Doc, batch: Observation[]): { checked: number; violations: string[] } {
  const operations = batch.filter((o) => templateFor(doc, o.method, o.path) !== undefined);
  return { checked: operations.length, violations: operations.flatMap((o) => violationsOf(doc, o)) };
}
