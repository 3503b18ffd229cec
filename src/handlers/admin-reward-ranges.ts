// Reward ranges (service key). `npm run reward-ranges` calls exactly these routes.
//   GET    /admin/reward-ranges              the table (truth) and what this edge isolate enforces
//   PUT    /admin/reward-ranges/{surface}    set a surface's range ('*' = the default), ledgered
//   DELETE /admin/reward-ranges/{surface}    remove a surface's own range (back to the default), ledgered
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { withDb } from '../db/client';
import { storableText } from '../http/text';
import { listRangeRows } from '../learning/queries-reward-ranges';
import { RANGE_BOUND, setRewardRange, unsetRewardRange } from '../learning/reward-range-writes';
import { FALLBACK_RANGE, getRewardRanges } from '../learning/reward-ranges';
import { createRouter, defineRoute } from '../platform/route';

const Range = z.object({ min: z.number(), max: z.number() });

const EdgeRanges = z
  .object({
    default: Range,
    surfaces: z.record(z.string(), Range),
    loadedAt: z.string().openapi({ description: "When the edge copy was read from Postgres ('fallback': the built-in [0, 1])" }),
  })
  .openapi('RewardRangesEdge');

const RangeRow = z
  .object({
    surface: z.string().openapi({ description: "A surface, or '*' for the default of every surface without its own row" }),
    min_reward: z.number(),
    max_reward: z.number(),
    updated_at: z.string(),
    updated_by: z.string().nullable(),
  })
  .openapi('RewardRange');

const WriteResult = z
  .object({
    surface: z.string(),
    old: Range.nullable(),
    new: Range.nullable(),
    changed: z.boolean().openapi({ description: 'False when the range was already in force (no ledger row)' }),
    kv: z.enum(['put', 'put_failed']).openapi({ description: 'The edge copy: written now, or left to the per-minute sync' }),
  })
  .openapi('RewardRangeWrite');

const SurfaceParam = z.object({
  surface: z
    .string()
    .regex(/^(\*|[A-Za-z0-9_.:-]{1,64})$/, "a surface name (letters, digits, _ . : -, 1-64) or '*'")
    .openapi({ example: 'feed', description: "The surface, or '*' for the default range" }),
});

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export const adminRewardRangeRoutes = createRouter();

defineRoute(
  adminRewardRangeRoutes,
  {
    method: 'get',
    path: '/admin/reward-ranges',
    tags: ['learning'],
    access: 'service',
    summary: 'Reward ranges: the table (truth) and what this edge isolate enforces',
    responses: {
      200: json(z.object({ database: z.array(RangeRow), edge: EdgeRanges, fallback: Range }), 'Both views'),
    },
  },
  async (c) => {
    const { unit } = c.var;
    const [database, edge] = await Promise.all([
      listRangeRows(unit.db()),
      getRewardRanges({ env: c.env, log: unit.log, background: unit.waitUntil, withDb: (fn) => withDb(c.env, unit.log, fn) }),
    ]);
    return c.json({ database, edge, fallback: FALLBACK_RANGE }, 200);
  },
);

defineRoute(
  adminRewardRangeRoutes,
  {
    method: 'put',
    path: '/admin/reward-ranges/{surface}',
    tags: ['learning'],
    access: 'service',
    summary: "Set a surface's reward range ('*' = the default of every surface without its own)",
    description:
      'POST /v1/rewards answers 400 for a reward outside the range (the message names it), and the consumer does not apply ' +
      "a reward outside the range of its decision's real surface (recorded as rejected, counted in the gauge " +
      'learning.rewards_rejected). Written to Postgres with an ai_action_ledger row (reward_range.set, old → new), then ' +
      'to the edge (KV) at once; other isolates see it within their memory TTL (15 s) plus KV propagation (~60 s).',
    request: {
      params: SurfaceParam,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              min_reward: z.number().min(-RANGE_BOUND).max(RANGE_BOUND).openapi({ example: 0 }),
              max_reward: z.number().min(-RANGE_BOUND).max(RANGE_BOUND).openapi({ example: 1 }),
              reason: storableText(500).optional(),
            }),
          },
        },
      },
    },
    responses: { 200: json(WriteResult, 'Written (or already in force: changed = false)') },
  },
  async (c) => {
    const { surface } = c.req.valid('param');
    const { min_reward, max_reward, reason } = c.req.valid('json');
    const result = await setRewardRange(c.var.unit, surface, min_reward, max_reward, {
      actor: serviceActor(c),
      reason,
      requestId: c.var.unit.id,
    });
    return c.json(result, 200);
  },
);

defineRoute(
  adminRewardRangeRoutes,
  {
    method: 'delete',
    path: '/admin/reward-ranges/{surface}',
    tags: ['learning'],
    access: 'service',
    summary: "Remove a surface's own reward range (its rewards fall back to the default range)",
    description: "Ledgered as reward_range.unset. The default range ('*') cannot be removed (409): set it instead.",
    request: { params: SurfaceParam, query: z.object({ reason: storableText(500).optional() }) },
    responses: {
      200: json(WriteResult, 'Removed (or there was none: changed = false)'),
      409: json(z.unknown(), "The default range ('*')"),
    },
  },
  async (c) => {
    const { surface } = c.req.valid('param');
    const { reason } = c.req.valid('query');
    const result = await unsetRewardRange(c.var.unit, surface, { actor: serviceActor(c), reason, requestId: c.var.unit.id });
    return c.json(result, 200);
  },
);
