// Admin API for SLOs and alerts (service key): the views, the alert history, the rules (tune,
// silence, disable — each change in the ledger) and "evaluate now". npm run alerts / npm run slo
// call these same routes.
import { createRoute, z } from '@hono/zod-openapi';
import { evaluateAlerts } from '../alerts/evaluate';
import { listRules, RulePatchSchema, updateRule } from '../alerts/rules';
import { requireService } from '../lib/auth';
import { serviceActor } from '../lib/actor';
import { createRouter, errorResponses, serviceSecurity } from '../lib/openapi';

export const sloRoutes = createRouter();
sloRoutes.use('/admin/slos', requireService);
sloRoutes.use('/admin/alerts', requireService);
sloRoutes.use('/admin/alerts/*', requireService);
sloRoutes.use('/admin/alert-rules', requireService);
sloRoutes.use('/admin/alert-rules/*', requireService);

const Row = z.record(z.string(), z.unknown());

/** bigint and numeric columns arrive as strings from the driver; JSON clients want numbers. */
const NUMERIC = /^-?\d+(\.\d+)?$/;
export function numericRows<T extends Record<string, unknown>>(rows: T[], keep: string[] = ['operation', 'subject', 'id', 'rule_id']): T[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) =>
    [k, typeof v === 'string' && !keep.includes(k) && NUMERIC.test(v) ? Number(v) : v])) as T);
}
const json = (schema: z.ZodTypeAny, description: string) => ({ description, content: { 'application/json': { schema } } });

sloRoutes.openapi(
  createRoute({
    method: 'get', path: '/admin/slos', tags: ['slo'], security: serviceSecurity,
    summary: 'SLOs: vw_kernel_slos (last hour per operation) and vw_slo_burnrate (burn rates, SRE alerts)',
    responses: {
      200: json(z.object({ kernel_slos: z.array(Row), burn_rates: z.array(Row) }).openapi('Slos'), 'Both views'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const db = c.get('db')();
    const [kernel, burn] = await Promise.all([
      db.query('SELECT * FROM public.vw_kernel_slos ORDER BY operation'),
      db.query('SELECT * FROM public.vw_slo_burnrate ORDER BY burn_rate DESC NULLS LAST, operation'),
    ]);
    return c.json({ kernel_slos: numericRows(kernel), burn_rates: numericRows(burn) }, 200);
  },
);

sloRoutes.openapi(
  createRoute({
    method: 'get', path: '/admin/alerts', tags: ['slo'], security: serviceSecurity,
    summary: 'Alert episodes: open ones (pending/firing) or the history',
    request: {
      query: z.object({
        state: z.enum(['open', 'all', 'pending', 'firing', 'resolved', 'cancelled']).default('open'),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
    },
    responses: { 200: json(z.object({ alerts: z.array(Row) }).openapi('Alerts'), 'Episodes, newest first'), ...errorResponses },
  }),
  async (c) => {
    const { state, limit } = c.req.valid('query');
    const states = state === 'open' ? ['pending', 'firing'] : state === 'all' ? ['pending', 'firing', 'resolved', 'cancelled'] : [state];
    const rows = await c.get('db')().query(
      `SELECT a.*, r.description, r.metric, r.comparator, r.action, r.runbook
       FROM public.alerts a JOIN public.alert_rules r ON r.id = a.rule_id
       WHERE a.state = ANY($1) ORDER BY a.id DESC LIMIT $2`,
      [states, limit],
    );
    return c.json({ alerts: numericRows(rows) }, 200);
  },
);

sloRoutes.openapi(
  createRoute({
    method: 'get', path: '/admin/alert-rules', tags: ['slo'], security: serviceSecurity,
    summary: 'Alert rules (the guide §4 thresholds and any added since)',
    responses: { 200: json(z.object({ rules: z.array(Row) }).openapi('AlertRules'), 'Every rule'), ...errorResponses },
  }),
  async (c) => c.json({ rules: numericRows(await listRules(c.get('db')())) }, 200),
);

sloRoutes.openapi(
  createRoute({
    method: 'patch', path: '/admin/alert-rules/{id}', tags: ['slo'], security: serviceSecurity,
    summary: 'Tune, silence, enable/disable or change the action of a rule (ledger: alert_rule.update)',
    request: {
      params: z.object({ id: z.string().regex(/^[a-z0-9_.-]{1,64}$/) }),
      body: { content: { 'application/json': { schema: RulePatchSchema.openapi('AlertRulePatch') } }, required: true },
    },
    responses: {
      200: json(z.object({ rule: Row }), 'The rule after the change'),
      404: json(z.object({ error: Row }), 'No such rule'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const rule = await updateRule(c.get('db')(), id, c.req.valid('json'), { actor: serviceActor(c), requestId: c.get('requestId') });
    return c.json({ rule: numericRows([rule])[0]! }, 200);
  },
);

sloRoutes.openapi(
  createRoute({
    method: 'post', path: '/admin/alerts/evaluate', tags: ['slo'], security: serviceSecurity,
    summary: 'Evaluate alert rules now (what the per-minute cron does); optionally some rules, as of a time',
    request: {
      body: {
        content: {
          'application/json': {
            schema: z.object({
              rule_ids: z.array(z.string().regex(/^[a-z0-9_.-]{1,64}$/)).min(1).max(100).optional(),
              at: z.iso.datetime({ offset: true }).optional(),
            }).strict().openapi('EvaluateAlerts'),
          },
        },
        required: false,
      },
    },
    responses: {
      200: json(z.object({ rules: z.number(), transitions: z.array(Row), actions: z.array(Row), errors: z.array(Row), webhooks: z.number(), skipped: z.string().optional() }), 'What changed'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid('json') ?? {};
    const result = await evaluateAlerts(
      { env: c.env, db: c.get('db'), log: c.get('log'), requestId: c.get('requestId') },
      body.at ? new Date(body.at) : new Date(),
      { ruleIds: body.rule_ids },
    );
    return c.json(result as unknown as Record<string, never>, 200);
  },
);
