// The real app plus a few routes only gate tests mount, one per route class, so auth, limits and
// input hardening can be tested before (and independently of) the feature routes.

import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { z } from '@hono/zod-openapi';
import { createApp, RESOURCES } from '../../src/app';
import { createRouter, defineRoute, type RouteDeclaration, routeDeclarations } from '../../src/platform/route';
import { observe } from './contract-support';
import { BASE, readBody, withJsonBody } from './support';

const ok = { 200: { description: 'ok' } };
const json = (schema: z.ZodType) => ({ body: { content: { 'application/json': { schema } }, required: true } });

export const EchoBody = z
  .object({
    n: z.number().int().max(10),
    nested: z.object({ a: z.string().max(20) }).optional(),
    items: z
      .array(z.object({ id: z.string() }))
      .max(5)
      .optional(),
    free: z.looseObject({}).optional(),
  })
  .openapi('GateTestEcho');

/** The gate tests' own routes, declared like production routes (one per access / limit class). */
function gateTestRoutes() {
  const r = createRouter();
  defineRoute(r, { method: 'get', path: '/v1/__test/me', access: 'user', responses: ok }, (c) => c.json({ id: c.get('user')!.id }, 200));
  defineRoute(r, { method: 'post', path: '/v1/__test/echo', access: 'user', request: json(EchoBody), responses: ok }, (c) =>
    c.json(c.req.valid('json'), 200),
  );
  defineRoute(r, { method: 'get', path: '/admin/__test/ping', access: 'service', responses: ok }, (c) =>
    c.json({ key: c.get('service')!.key }, 200),
  );
  defineRoute(r, { method: 'post', path: '/admin/__test/write', access: 'service', responses: ok }, (c) =>
    c.json({ key: c.get('service')!.key }, 200),
  );
  defineRoute(r, { method: 'post', path: '/functions/v1/__test-job', access: 'service', limitClass: 'job', responses: ok }, (c) =>
    c.json({ ran: true }, 200),
  );
  return r;
}

export function gateApp() {
  return createApp([...RESOURCES, gateTestRoutes()]);
}

const productionDeclarations = routeDeclarations(createApp());

/**
 * The declaration a request for `method path` (a concrete path, e.g. /admin/flags/x) meets in the
 * production app: static segments win over parameters, as in Hono's router.
 */
export function declarationFor(method: string, path: string): RouteDeclaration {
  const candidates = [...productionDeclarations].filter(([key]) => {
    const [m, template] = key.split(' ') as [string, string];
    if (m !== method.toUpperCase()) return false;
    const pattern = new RegExp(`^${template.replace(/:[^/]+/g, '[^/]+')}$`);
    return pattern.test(path);
  });
  candidates.sort(([a], [b]) => (a.match(/:/g)?.length ?? 0) - (b.match(/:/g)?.length ?? 0));
  const found = candidates[0];
  if (!found) throw new Error(`no route declared for ${method} ${path}`);
  return found[1];
}

export type GateApp = ReturnType<typeof gateApp>;

/**
 * One request through `app` with a real execution context (background work is awaited). Recorded
 * for the contract check like support.ts `call` (the test-only routes are not in the document).
 */
export async function send(app: GateApp, path: string, init: RequestInit & { json?: unknown } = {}, bindings: Partial<Env> = {}) {
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${path}`, withJsonBody(init), { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  const { text, json } = await readBody(res);
  observe({ method: init.method ?? 'GET', path: new URL(path, BASE).pathname, status: res.status, headers: res.headers, text });
  return { res, status: res.status, json, text, headers: res.headers };
}
