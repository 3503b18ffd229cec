// A user's data on request: erasure (the user themselves, or the service role with a reason), the
// erasure's status per store, and the logged rank-context keys. The logic is in src/privacy/.
//   DELETE /v1/me                       the caller's own erasure → 202 {erasure_id, …}
//   DELETE /admin/users/{id}            an operator's erasure (reason required) → 202
//   GET    /admin/erasures/{id}         completion per store
//   GET    /admin/context-keys          rank_context_policies and what this isolate logs
//   POST   /admin/context-keys/sync     Postgres → KV now (ledgered)
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { recordAction } from '../db/ledger';
import { notFound } from '../http/errors';
import { errorDoc } from '../http/openapi';
import { createRouter, defineRoute } from '../platform/route';
import { getContextPolicy, loadContextPolicyFromDb, syncContextPolicy } from '../privacy/context-policy';
import { eraseUser, erasureById } from '../privacy/erasure';

const Store = z.object({ done: z.boolean(), at: z.string().nullable() });

const Erasure = z
  .object({
    erasure_id: z.guid(),
    status: z.enum(['pending', 'complete']).openapi({ description: 'complete once every store below is done' }),
    requested_at: z.string(),
    requested_by: z.string().openapi({ description: "'user' (DELETE /v1/me) or the service caller (x-actor)" }),
    reason: z.string(),
    completed_at: z.string().nullable(),
    stores: z.object({
      tombstone: Store.openapi({ description: 'Queue messages still in flight for the user, and later writes, are dropped' }),
      postgres: Store.extend({
        deleted: z.record(z.string(), z.number()).openapi({ description: 'Rows deleted per table, over every run' }),
      }),
      kv: Store.openapi({ description: 'FEATURES user document deleted; LIMITS rewritten without the user' }),
      limiter: Store.openapi({ description: "The user's RateLimiter object storage deleted" }),
    }),
    attempts: z.number().int(),
    last_error: z.string().nullable().openapi({ description: 'Why the last run left a store pending (the sweep retries every minute)' }),
  })
  .openapi('Erasure');

const Accepted = Erasure.extend({
  created: z.boolean().openapi({ description: 'false: the user was already erased (same erasure id); the steps ran again' }),
}).openapi('ErasureAccepted');

const ERASURE_DESCRIPTION =
  "Erases the user's data from every store: every Postgres row holding the user id (public.erasure_targets), " +
  'outbox and dead-letter payloads naming them, the KV feature document, per-user limit overrides and the ' +
  'RateLimiter state. A tombstone (a keyed hash of the id) then drops queue messages still in flight for the user ' +
  'and any later write for the learning retention window. Aggregates (rollups, sufficient statistics, metrics) ' +
  'hold no per-user rows and stay. Idempotent: repeating it returns the same erasure id. The ledger records who, ' +
  'when and why, under the erasure id, never the user id.';

const json = <T extends z.ZodTypeAny>(schema: T) => ({ content: { 'application/json': { schema } } });

export const privacyRoutes = createRouter();

defineRoute(
  privacyRoutes,
  {
    method: 'delete',
    path: '/v1/me',
    access: 'user',
    tags: ['privacy'],
    summary: "Erase the caller's data",
    description: ERASURE_DESCRIPTION,
    responses: { 202: { description: 'Accepted; the status per store', ...json(Accepted) } },
  },
  async (c) => {
    const { unit } = c.var;
    const result = await eraseUser(unit, c.get('user')!.id, { actor: 'user', reason: 'requested by the user', requestId: unit.id });
    return c.json({ ...result.status, created: result.created }, 202);
  },
);

defineRoute(
  privacyRoutes,
  {
    method: 'delete',
    path: '/admin/users/{id}',
    access: 'service',
    tags: ['privacy'],
    summary: "Erase a user's data (operators, on a data-subject request)",
    description: ERASURE_DESCRIPTION,
    request: {
      params: z.object({ id: z.guid().openapi({ description: 'The user id (JWT sub)' }) }),
      body: {
        required: true,
        ...json(z.object({ reason: z.string().trim().min(1).max(500).openapi({ example: 'GDPR Art. 17 request #4711' }) })),
      },
    },
    responses: { 202: { description: 'Accepted; the status per store', ...json(Accepted) } },
  },
  async (c) => {
    const { id } = c.req.valid('param');
    const { reason } = c.req.valid('json');
    const { unit } = c.var;
    const result = await eraseUser(unit, id, { actor: serviceActor(c), reason, requestId: unit.id });
    return c.json({ ...result.status, created: result.created }, 202);
  },
);

defineRoute(
  privacyRoutes,
  {
    method: 'get',
    path: '/admin/erasures/{id}',
    access: 'service',
    tags: ['privacy'],
    summary: 'An erasure and its completion per store (tombstone, Postgres, KV, limiter)',
    request: { params: z.object({ id: z.guid() }) },
    responses: { 200: { description: 'The erasure', ...json(Erasure) }, 404: errorDoc('No such erasure') },
  },
  async (c) => {
    const status = await erasureById(c.var.unit.db(), c.req.valid('param').id);
    if (!status) throw notFound('no such erasure');
    return c.json(status, 200);
  },
);

const ContextKeys = z
  .object({ default: z.array(z.string()), surfaces: z.record(z.string(), z.array(z.string())), loadedAt: z.string() })
  .openapi('ContextKeys');

defineRoute(
  privacyRoutes,
  {
    method: 'get',
    path: '/admin/context-keys',
    access: 'service',
    tags: ['privacy'],
    summary: 'Rank context keys logged per surface: the table (truth) and what this edge isolate logs',
    responses: { 200: { description: 'Both views', ...json(z.object({ database: ContextKeys, edge: ContextKeys })) } },
  },
  async (c) => {
    const { unit } = c.var;
    const [database, edge] = await Promise.all([loadContextPolicyFromDb(unit.db()), getContextPolicy(c.env, unit.log)]);
    return c.json({ database, edge }, 200);
  },
);

defineRoute(
  privacyRoutes,
  {
    method: 'post',
    path: '/admin/context-keys/sync',
    access: 'service',
    tags: ['privacy'],
    summary: 'Copy public.rank_context_policies to the edge (KV) now',
    description: 'Other isolates pick the change up within their memory TTL (15 s) plus KV propagation.',
    responses: {
      200: { description: 'Synced', ...json(z.object({ surfaces: z.number().int(), default_keys: z.number().int() })) },
    },
  },
  async (c) => {
    const db = c.var.unit.db();
    const result = await syncContextPolicy(c.env, db);
    await recordAction(db, {
      actor: serviceActor(c),
      action: 'privacy.context_keys_sync',
      target: 'rank_context_policies',
      newValue: result,
      requestId: c.var.unit.id,
    });
    return c.json(result, 200);
  },
);
