// Request-body hardening for every route, before any handler or validator sees the body:
//   413  body larger than the route's declaration allows (Content-Length, or counted while streaming)
//   415  a body whose Content-Type is not application/json (charset, if given, must be utf-8)
//   400  invalid UTF-8, or JSON nested deeper than MAX_JSON_DEPTH (parsers and JSON.stringify
//        recurse; a 64 KiB body of '[' could otherwise exhaust a handler's stack)
// Unknown fields are handled by the schemas themselves (src/lib/strict-body.ts: rejected, 400).
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../platform/app-env';
import { UNMATCHED_ROUTE } from '../platform/route';
import { badRequest, payloadTooLarge, unsupportedMediaType } from './errors';
import { routeOf } from './gate';

export const MAX_JSON_DEPTH = 32;
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** Read at most `max` bytes; undefined when the body is longer. */
async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Deepest [ / { nesting outside strings; stops counting past the limit. */
export function jsonDepth(text: string, stopAt = MAX_JSON_DEPTH + 1): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 /* [ */ || ch === 123 /* { */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max >= stopAt) return max;
      }
    } else if (ch === 93 /* ] */ || ch === 125 /* } */) depth--;
  }
  return max;
}

export const inputGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const raw = c.req.raw;
  const policy = routeOf(c);
  // No route will read it (the answer is 404): leave the body alone.
  if (!raw.body || policy === UNMATCHED_ROUTE) return next();
  const { maxBodyBytes } = policy;
  const declared = raw.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
  const bytes = await readCapped(raw.body, maxBodyBytes);
  if (!bytes) throw payloadTooLarge(maxBodyBytes);
  const bodiless = c.req.method === 'GET' || c.req.method === 'HEAD';
  if (bodiless) {
    if (bytes.byteLength > 0) throw badRequest(`${c.req.method} requests take no body`);
    return next();
  }
  if (bytes.byteLength > 0) {
    const type = raw.headers.get('content-type') ?? '';
    if (policy.forms && FORM_TYPE.test(type)) {
      c.req.raw = new Request(raw, { body: bytes });
      return next();
    }
    if (!JSON_TYPE.test(type)) throw unsupportedMediaType('application/json');
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw badRequest('request body is not valid UTF-8');
    }
    if (jsonDepth(text) > MAX_JSON_DEPTH) throw badRequest(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  // The stream is consumed: hand the route an identical request with the buffered body.
  c.req.raw = new Request(raw, { body: bytes });
  await next();
};
