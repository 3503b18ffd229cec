// The real app plus a few routes only gate tests mount, one per route class, so auth, limits and
// input hardening can be tested before (and independently of) the feature routes.
import { createRoute, z } from '@hono/zod-openapi';
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { createApp } from '../../src/app';
import { errorResponses, serviceSecurity, userSecurity } from '../../src/lib/openapi';
import { BASE, readBody, withJsonBody } from './support';

const ok = { 200: { description: 'ok' }, ...errorResponses };
const json = (schema: z.ZodType) => ({ body: { content: { 'application/json': { schema } }, required: true } });

export const EchoBody = z
  .object({
    n: z.number().int().max(10),
    nested: z.object({ a: z.string().max(20) }).optional(),
    items: z.array(z.object({ id: z.string() })).max(5).optional(),
    free: z.looseObject({}).optional(),
  })
  .openapi('GateTestEcho');

export function gateApp() {
  const app = createApp();
  app.openapi(createRoute({ method: 'get', path: '/v1/__test/me', security: userSecurity, responses: ok }),
    (c) => c.json({ id: c.get('user')!.id }, 200));
  app.openapi(createRoute({ method: 'post', path: '/v1/__test/echo', security: userSecurity, request: json(EchoBody), responses: ok }),
    (c) => c.json(c.req.valid('json'), 200));
  app.openapi(createRoute({ method: 'get', path: '/admin/__test/ping', security: serviceSecurity, responses: ok }),
    (c) => c.json({ key: c.get('service')!.key }, 200));
  app.openapi(createRoute({ method: 'post', path: '/admin/__test/write', security: serviceSecurity, responses: ok }),
    (c) => c.json({ key: c.get('service')!.key }, 200));
  app.openapi(createRoute({ method: 'post', path: '/functions/v1/__test-job', security: serviceSecurity, responses: ok }),
    (c) => c.json({ ran: true }, 200));
  return app;
}

export type GateApp = ReturnType<typeof gateApp>;

/** One request through `app` with a real execution context (background work is awaited). */
export async function send(app: GateApp, path: string, init: RequestInit & { json?: unknown } = {}, bindings: Partial<Env> = {}) {
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${path}`, withJsonBody(init), { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  const { text, json } = await readBody(res);
  return { res, status: res.status, json, text, headers: res.headers };
}
