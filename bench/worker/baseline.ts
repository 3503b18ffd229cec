// Bench-only routes (never part of the production API): declared like any route, so a request to
// them passes the same gate (auth, rate limit, input guard) as the route it is compared with.
//   GET|POST /v1/__bench/ping   a user route, hot like /v1/rank, that does nothing (a POST body is ignored)
//   GET      /__bench/anon      a public route that does nothing
import { z } from '@hono/zod-openapi';
import { createRouter, defineRoute } from '../../src/platform/route';

export const benchRoutes = createRouter();

for (const method of ['get', 'post'] as const) {
  defineRoute(
    benchRoutes,
    {
      method,
      path: '/v1/__bench/ping',
      access: 'user',
      hot: true,
      hide: true,
      responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ id: z.string() }) } } } },
    },
    (c) => c.json({ id: c.get('user')!.id }, 200),
  );
}

defineRoute(
  benchRoutes,
  {
    method: 'get',
    path: '/__bench/anon',
    access: 'public',
    hide: true,
    responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ ok: z.boolean() }) } } } },
  },
  (c) => c.json({ ok: true }, 200),
);
