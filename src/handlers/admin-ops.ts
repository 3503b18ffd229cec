// The background pause switch of the rollback procedure (src/ops/pause.ts), as an API:
// GET /admin/ops/pause and PUT /admin/ops/pause {paused, reason?}. `npm run ops:halt` / `ops:resume` use it.
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { pauseState, setJobsPaused } from '../ops/pause';
import { createRouter, defineRoute } from '../platform/route';

const PauseSchema = z
  .object({
    paused: z.boolean(),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
  })
  .openapi('PauseState');

export const adminOpsRoutes = createRouter();

defineRoute(
  adminOpsRoutes,
  {
    method: 'get',
    path: '/admin/ops/pause',
    tags: ['operations'],
    access: 'service',
    summary: 'Whether background side effects are paused (ops.pause_jobs)',
    responses: { 200: { description: 'Pause state', content: { 'application/json': { schema: PauseSchema } } } },
  },
  async (c) => c.json(await pauseState(c.var.unit.db()), 200),
);

defineRoute(
  adminOpsRoutes,
  {
    method: 'put',
    path: '/admin/ops/pause',
    tags: ['operations'],
    access: 'service',
    summary: 'Pause or resume background side effects',
    description:
      'Paused: the discovery relay, learning rollups, hydrate-features and GC crons are skipped, and the ' +
      'discovery consumer hands messages back to the outbox. Flag sync, metrics and alerting keep running. ' +
      'Every change writes ai_action_ledger (ops.pause / ops.resume).',
    request: {
      body: {
        required: true,
        content: { 'application/json': { schema: z.object({ paused: z.boolean(), reason: z.string().min(1).max(500).optional() }) } },
      },
    },
    responses: {
      200: { description: 'New state', content: { 'application/json': { schema: PauseSchema.extend({ changed: z.boolean() }) } } },
    },
  },
  async (c) => {
    const { paused, reason } = c.req.valid('json');
    const state = await setJobsPaused(c.var.unit.db(), paused, { actor: serviceActor(c), reason, requestId: c.var.unit.id });
    c.var.unit.log.warn(paused ? 'ops.paused' : 'ops.resumed', { reason, changed: state.changed });
    return c.json(state, 200);
  },
);
