// Operators' view of the rate limits: what the edge currently enforces, and a way to push an
// SQL change on public.rate_limits to the edge now instead of at the next cron minute.
//   GET  /admin/rate-limits        the configuration in Postgres and the one this isolate uses
//   POST /admin/rate-limits/sync   Postgres → KV now (a job_runs row; the limit change itself is
//                                  in the ledger already, written by the rate_limits trigger)
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { withDb } from '../db/client';
import { runOnDemand } from '../platform/job-run';
import { createRouter, defineRoute } from '../platform/route';
import { FALLBACK_LIMITS, getLimits, loadLimitsFromDb, syncLimits } from '../ratelimit/config';

const Limit = z.object({ max: z.number().int(), windowSec: z.number().int() });
const LimitsConfig = z
  .object({
    defaults: z.record(z.string(), Limit),
    overrides: z.record(z.string(), z.record(z.string(), Limit)),
    loadedAt: z.string(),
  })
  .openapi('RateLimitsConfig');

export const rateLimitRoutes = createRouter();

defineRoute(
  rateLimitRoutes,
  {
    method: 'get',
    path: '/admin/rate-limits',
    tags: ['admin'],
    summary: 'Rate limits: the table (truth) and what this edge isolate enforces',
    access: 'service',
    responses: {
      200: {
        description: 'Both views',
        content: {
          'application/json': { schema: z.object({ database: LimitsConfig, edge: LimitsConfig, fallback: z.record(z.string(), Limit) }) },
        },
      },
    },
  },
  async (c) => {
    const { unit } = c.var;
    const [database, edge] = await Promise.all([
      loadLimitsFromDb(unit.db()),
      getLimits({ env: c.env, log: unit.log, background: unit.waitUntil, withDb: (fn) => withDb(c.env, unit.log, fn) }),
    ]);
    return c.json({ database, edge, fallback: FALLBACK_LIMITS }, 200);
  },
);

defineRoute(
  rateLimitRoutes,
  {
    method: 'post',
    path: '/admin/rate-limits/sync',
    tags: ['admin'],
    summary: 'Copy public.rate_limits to the edge (KV) now',
    description:
      'Other isolates pick the change up within their memory TTL (15 s) plus KV propagation. Recorded in public.job_runs; ' +
      'the limit change itself is in ai_action_ledger (rate_limit.set, written by a trigger when the row changed).',
    access: 'service',
    responses: {
      200: {
        description: 'Synced',
        content: { 'application/json': { schema: z.object({ defaults: z.number().int(), overrides: z.number().int() }) } },
      },
    },
  },
  async (c) => {
    const { unit } = c.var;
    const result = await runOnDemand(unit, { job: 'ratelimit-sync', route: 'POST /admin/rate-limits/sync', actor: serviceActor(c) }, () =>
      syncLimits(c.env, unit.db()),
    );
    return c.json(result, 200);
  },
);
