// Admin flag routes (service key): list, set, sync now, and evaluate-as-a-user (diagnostics and
// the flag benchmark). `npm run flags` (scripts/flags.ts) calls exactly these routes.
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { type EvaluatedFlags, evaluateFlags } from '../flags';
import { listFlags } from '../flags/list';
import { syncFlags } from '../flags/sync';
import { setFlag } from '../flags/write';
import { createRouter, defineRoute } from '../platform/route';

export const adminFlagRoutes = createRouter();

const FlagValue = z.record(z.string(), z.unknown()).openapi('FlagValue', {
  description: 'A flag value (JSON object). May carry `rollout: {percent: 0–100, value: {…fields merged for users in the rollout}}`.',
  example: { enabled: true, rollout: { percent: 5, value: { enabled: false } } },
});

const Listing = z
  .object({
    key: z.string(),
    known: z.boolean().openapi({ description: 'A flag this code evaluates' }),
    value: z.unknown().openapi({ description: 'Value in Postgres (the truth)' }),
    valid: z.boolean(),
    issues: z.unknown().optional(),
    description: z.string().nullable(),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
    kv: z.object({ value: z.unknown(), valid: z.boolean(), rev: z.number().nullable(), in_sync: z.boolean() }),
    sync: z.object({ rev: z.number(), synced_at: z.string().nullable(), source: z.string().nullable(), last_conflict: z.unknown() }),
  })
  .openapi('FlagListing');

const WriteResult = z
  .object({
    key: z.string(),
    old: z.unknown(),
    value: z.unknown(),
    changed: z.boolean(),
    rev: z.number(),
    kv: z.enum(['kept', 'put', 'put_failed']),
  })
  .openapi('FlagWriteResult');

const SyncResult = z.object({
  flags: z.array(
    z.object({
      key: z.string(),
      outcome: z.string(),
      rev: z.number(),
      value: z.unknown(),
      kv: z.enum(['kept', 'put', 'put_failed']),
    }),
  ),
});

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** 'cli' when the CLI (scripts/lib/api-client.ts) says so; any other caller is the API. */
defineRoute(
  adminFlagRoutes,
  {
    method: 'get',
    path: '/admin/flags',
    tags: ['flags'],
    access: 'service',
    summary: 'Every flag: Postgres value, KV copy, sync state',
    responses: { 200: json(z.object({ flags: z.array(Listing) }), 'The flags') },
  },
  async (c) => c.json({ flags: await listFlags(c.env, c.var.unit.db()) }, 200),
);

defineRoute(
  adminFlagRoutes,
  {
    method: 'put',
    path: '/admin/flags/{key}',
    tags: ['flags'],
    access: 'service',
    summary: 'Set a flag (Postgres and KV together, with a ledger row)',
    description:
      "Validated against the flag's schema. A change made in KV or SQL and not yet synced is recorded first. " +
      'Seen at once by this location; elsewhere within KV propagation (~60 s) plus the isolate cache (5 s).',
    request: {
      params: z.object({ key: z.string().openapi({ example: 'global.safe_mode' }) }),
      body: {
        required: true,
        content: { 'application/json': { schema: z.object({ value: FlagValue, reason: z.string().max(500).optional() }) } },
      },
    },
    responses: {
      200: json(WriteResult, 'Written (or already in force: changed = false)'),
      404: json(z.unknown(), 'Unknown flag'),
    },
  },
  async (c) => {
    const { key } = c.req.valid('param');
    const { value, reason } = c.req.valid('json');
    const result = await setFlag(c.var.unit, key, value, {
      actor: serviceActor(c),
      reason,
      requestId: c.var.unit.id,
    });
    return c.json(result, 200);
  },
);

defineRoute(
  adminFlagRoutes,
  {
    method: 'post',
    path: '/admin/flags/sync',
    tags: ['flags'],
    access: 'service',
    summary: 'Run the flag sync now (what the per-minute cron does)',
    responses: { 200: json(SyncResult, 'Per flag: merge outcome, revision, KV action') },
  },
  async (c) => {
    const flags = await syncFlags(c.var.unit, { actor: serviceActor(c) });
    return c.json({ flags }, 200);
  },
);

const EvaluateQuery = z.object({
  user_id: z.guid().optional().openapi({ description: 'Evaluate as this user (omit: anonymous)' }),
  repeat: z.coerce.number().int().min(0).max(10_000).default(1).openapi({
    description: 'Evaluate this many times in the request (benchmarking: 0 measures the route without evaluation)',
  }),
});

defineRoute(
  adminFlagRoutes,
  {
    method: 'get',
    path: '/admin/flags/evaluate',
    tags: ['flags'],
    access: 'service',
    // Evaluates as the edge does: isolate memory and KV, Postgres only for missing keys, and a failed
    // read falls back to the last good value or the default — never a 503.
    database: false,
    summary: 'Evaluate the flags as the edge does for a user (rollout buckets, sources, DB queries)',
    request: { query: EvaluateQuery },
    responses: {
      200: json(
        z.object({
          user_id: z.string().nullable(),
          repeat: z.number(),
          evaluated: z.unknown(),
          db_queries: z.number().openapi({ description: 'Postgres round trips the evaluations needed (0 while KV holds the flags)' }),
        }),
        'The evaluation',
      ),
    },
  },
  async (c) => {
    const { user_id: userId, repeat } = c.req.valid('query');
    let dbQueries = 0;
    // Count database use through the factory evaluateFlags receives: it is its only way to Postgres.
    const { unit } = c.var;
    const counting = {
      ...unit,
      db: () => {
        dbQueries++;
        return unit.db();
      },
    };
    let evaluated: EvaluatedFlags | undefined;
    for (let i = 0; i < repeat; i++) evaluated = await evaluateFlags(counting, userId);
    return c.json({ user_id: userId ?? null, repeat, evaluated: evaluated ?? null, db_queries: dbQueries }, 200);
  },
);
