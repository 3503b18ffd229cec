// Dead-letter queue for operators (service key): list, redrive, purge. The logic lives in
// src/discovery/dlq.ts (also used by the dashboard); `npm run dlq` calls these routes.
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { serviceActor } from '../auth/actor';
import { type DlqActor, type DlqSelection, listDeadLetters, purgeDeadLetters, redriveDeadLetters } from '../discovery/dlq';
import type { AppEnv } from '../platform/app-env';
import { createRouter, defineRoute } from '../platform/route';

const Source = z.enum(['discovery', 'events']);

const DeadLetter = z
  .object({
    source: Source,
    id: z.string(),
    topic: z.string(),
    user_id: z.string().nullable(),
    interest_id: z.string().nullable(),
    interest_name: z.string().nullable(),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    dead_since: z.string(),
    created_at: z.string(),
  })
  .openapi('DeadLetter');

const Selection = z
  .object({
    ids: z
      .array(z.string().max(64))
      .max(1000)
      .optional()
      .openapi({ description: 'Dead-letter ids from GET /admin/dlq (job uuid or events_queue id)' }),
    all: z.boolean().optional().openapi({ description: 'Act on every dead row (optionally narrowed by source / older_than_seconds)' }),
    source: Source.optional(),
    older_than_seconds: z
      .number()
      .int()
      .min(0)
      .max(10 * 365 * 86400)
      .optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .refine((s) => s.all === true || (s.ids?.length ?? 0) > 0, { path: ['ids'], message: 'give the ids to act on, or all: true' })
  .openapi('DlqSelection', { example: { all: true, source: 'discovery', reason: 'fixed the catalog' } });

const RedriveResult = z
  .object({
    discovery: z.number().int(),
    superseded: z.number().int(),
    events_resent: z.number().int(),
    events_requeued: z.number().int(),
    events_unsendable: z.number().int(),
  })
  .openapi('DlqRedriveResult');

const PurgeResult = z.object({ discovery: z.number().int(), events: z.number().int() }).openapi('DlqPurgeResult');

const json = <T extends z.ZodTypeAny>(schema: T) => ({ content: { 'application/json': { schema } } });

const toSelection = (b: z.infer<typeof Selection>): DlqSelection => ({
  ids: b.ids,
  all: b.all,
  source: b.source,
  olderThanSeconds: b.older_than_seconds,
  reason: b.reason,
});

/** The caller, for the ledger: x-actor (or 'api:service') and this request's id. */
const actorOf = (c: Context<AppEnv>): DlqActor => ({ actor: serviceActor(c), requestId: c.var.unit.id });

export const adminDlqRoutes = createRouter();

defineRoute(
  adminDlqRoutes,
  {
    method: 'get',
    path: '/admin/dlq',
    access: 'service',
    tags: ['admin'],
    summary: 'Dead letters (vw_dead_letter_queue), newest death first',
    request: {
      query: z.object({
        source: Source.optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
        offset: z.coerce.number().int().min(0).default(0),
      }),
    },
    responses: {
      200: {
        description: 'A page of dead letters and the totals per source',
        ...json(z.object({ items: z.array(DeadLetter), total: z.object({ discovery: z.number().int(), events: z.number().int() }) })),
      },
    },
  },
  async (c) => {
    const { items, total } = await listDeadLetters(c.var.unit.db(), c.req.valid('query'));
    return c.json({ items, total }, 200);
  },
);

defineRoute(
  adminDlqRoutes,
  {
    method: 'post',
    path: '/admin/dlq/redrive',
    access: 'service',
    maxBodyBytes: 64 * 1024,
    tags: ['admin'],
    summary: 'Re-queue dead letters (recorded in ai_action_ledger)',
    description:
      'Dead discovery jobs go back to queued (attempts reset) and are relayed at once; dead queue messages are re-sent to the queue they died on; dead outbox rows go back to queued. A dead job whose user and interest already have a live job is left (superseded).',
    request: { body: { required: true, ...json(Selection) } },
    responses: { 200: { description: 'What was redriven', ...json(RedriveResult) } },
  },
  async (c) => {
    const result = await redriveDeadLetters(c.var.unit, toSelection(c.req.valid('json')), actorOf(c));
    return c.json(result, 200);
  },
);

defineRoute(
  adminDlqRoutes,
  {
    method: 'post',
    path: '/admin/dlq/purge',
    access: 'service',
    maxBodyBytes: 64 * 1024,
    tags: ['admin'],
    summary: 'Delete dead letters after review (recorded in ai_action_ledger)',
    request: { body: { required: true, ...json(Selection) } },
    responses: { 200: { description: 'How many rows were deleted per source', ...json(PurgeResult) } },
  },
  async (c) => {
    const result = await purgeDeadLetters(c.var.unit, toSelection(c.req.valid('json')), actorOf(c));
    return c.json(result, 200);
  },
);
