// Dead-letter queue for operators (service key): list, redrive, purge. The logic lives in
// src/discovery/dlq.ts (also used by the dashboard); `npm run dlq` calls these routes.
import { createRoute, z } from '@hono/zod-openapi';
import { listDeadLetters, purgeDeadLetters, redriveDeadLetters, type DlqSelection } from '../discovery/dlq';
import { serviceActor } from '../lib/actor';
import { requireService } from '../lib/auth';
import { maxBody } from '../lib/body-limit';
import { createRouter, errorResponses, serviceSecurity } from '../lib/openapi';

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
    ids: z.array(z.string().max(64)).max(1000).optional().openapi({ description: 'Dead-letter ids from GET /admin/dlq (job uuid or events_queue id)' }),
    all: z.boolean().optional().openapi({ description: 'Act on every dead row (optionally narrowed by source / older_than_seconds)' }),
    source: Source.optional(),
    older_than_seconds: z.number().int().min(0).max(10 * 365 * 86400).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .refine((s) => s.all === true || (s.ids?.length ?? 0) > 0, { path: ['ids'], message: 'give the ids to act on, or all: true' })
  .openapi('DlqSelection', { example: { all: true, source: 'discovery', reason: 'fixed the catalog' } });

const RedriveResult = z
  .object({
    discovery: z.number().int(), superseded: z.number().int(), events_resent: z.number().int(),
    events_requeued: z.number().int(), events_unsendable: z.number().int(),
  })
  .openapi('DlqRedriveResult');

const PurgeResult = z.object({ discovery: z.number().int(), events: z.number().int() }).openapi('DlqPurgeResult');

const json = <T extends z.ZodTypeAny>(schema: T) => ({ content: { 'application/json': { schema } } });

const toSelection = (b: z.infer<typeof Selection>): DlqSelection => ({
  ids: b.ids, all: b.all, source: b.source, olderThanSeconds: b.older_than_seconds, reason: b.reason,
});

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

export const adminDlqRoutes = createRouter();

adminDlqRoutes.openapi(
  createRoute({
    method: 'get', path: '/admin/dlq', tags: ['admin'], security: serviceSecurity, middleware: [requireService] as const,
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
      ...errorResponses,
    },
  }),
  async (c) => {
    const { items, total } = await listDeadLetters(c.get('db')(), c.req.valid('query'));
    return c.json({ items: items.map((d) => ({ ...d, dead_since: iso(d.dead_since), created_at: iso(d.created_at) })), total }, 200);
  },
);

adminDlqRoutes.openapi(
  createRoute({
    method: 'post', path: '/admin/dlq/redrive', tags: ['admin'], security: serviceSecurity,
    middleware: [requireService, maxBody(64 * 1024)] as const,
    summary: 'Re-queue dead letters (recorded in ai_action_ledger)',
    description: 'Dead discovery jobs go back to queued (attempts reset) and are relayed at once; dead queue messages are re-sent to the queue they died on; dead outbox rows go back to queued. A dead job whose user and interest already have a live job is left (superseded).',
    request: { body: { required: true, ...json(Selection) } },
    responses: { 200: { description: 'What was redriven', ...json(RedriveResult) }, ...errorResponses },
  }),
  async (c) => {
    const result = await redriveDeadLetters(
      { env: c.env, db: c.get('db'), log: c.get('log'), actor: serviceActor(c), requestId: c.get('requestId') },
      toSelection(c.req.valid('json')),
    );
    return c.json(result, 200);
  },
);

adminDlqRoutes.openapi(
  createRoute({
    method: 'post', path: '/admin/dlq/purge', tags: ['admin'], security: serviceSecurity,
    middleware: [requireService, maxBody(64 * 1024)] as const,
    summary: 'Delete dead letters after review (recorded in ai_action_ledger)',
    request: { body: { required: true, ...json(Selection) } },
    responses: { 200: { description: 'How many rows were deleted per source', ...json(PurgeResult) }, ...errorResponses },
  }),
  async (c) => {
    const result = await purgeDeadLetters(
      { env: c.env, db: c.get('db'), log: c.get('log'), actor: serviceActor(c), requestId: c.get('requestId') },
      toSelection(c.req.valid('json')),
    );
    return c.json(result, 200);
  },
);
