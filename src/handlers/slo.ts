// Admin API for SLOs and alerts (service key): the views, the alert history, the rules (tune,
// silence, disable — each change in the ledger) and "evaluate now". npm run alerts / npm run slo
// call these same routes.
import { z } from '@hono/zod-openapi';
import { listAlerts } from '../alerts/episodes';
import { evaluateAlerts } from '../alerts/evaluate';
import { listRules, RulePatchSchema, updateRule } from '../alerts/rules';
import { serviceActor } from '../auth/actor';
import { errorDoc } from '../http/openapi';
import { exposition, OPENMETRICS_CONTENT_TYPE } from '../observability/exposition';
import { burnRates, kernelSlos } from '../observability/queries';
import { flagRows, queueRows, requestHistograms } from '../observability/queries-export';
import { createRouter, defineRoute } from '../platform/route';

export const sloRoutes = createRouter();

const Row = z.record(z.string(), z.unknown());
const json = (schema: z.ZodTypeAny, description: string) => ({ description, content: { 'application/json': { schema } } });

defineRoute(
  sloRoutes,
  {
    method: 'get',
    path: '/admin/slos',
    access: 'service',
    tags: ['slo'],
    summary: 'SLOs: vw_kernel_slos (last hour per operation) and vw_slo_burnrate (burn rates, SRE alerts)',
    responses: {
      200: json(z.object({ kernel_slos: z.array(Row), burn_rates: z.array(Row) }).openapi('Slos'), 'Both views'),
    },
  },
  async (c) => {
    const db = c.var.unit.db();
    const [kernel, burn] = await Promise.all([kernelSlos(db), burnRates(db)]);
    return c.json({ kernel_slos: kernel, burn_rates: burn }, 200);
  },
);

defineRoute(
  sloRoutes,
  {
    method: 'get',
    path: '/admin/metrics',
    access: 'service',
    tags: ['slo'],
    summary: 'Prometheus/OpenMetrics exposition: request latency histograms, queues, DLQ, burn rates, safe mode, flag revisions',
    description:
      'OpenMetrics 1.0 text for a Prometheus scrape job (bearer: the service key; README "Observability"). Read from the ' +
      'per-minute rollups and the SLO and queue views, never raw events. The latency histograms cover the last hour ' +
      '(as vw_kernel_slos): use histogram_quantile() on them directly, not rate().',
    responses: {
      200: { description: 'The exposition, ending with `# EOF`', content: { [OPENMETRICS_CONTENT_TYPE]: { schema: z.string() } } },
    },
  },
  async (c) => {
    const db = c.var.unit.db();
    const [histograms, burn, queues, flags] = await Promise.all([requestHistograms(db), burnRates(db), queueRows(db), flagRows(db)]);
    const text = exposition({ histograms, burnRates: burn, queues, flags });
    return c.body(text, 200, { 'content-type': OPENMETRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
  },
);

defineRoute(
  sloRoutes,
  {
    method: 'get',
    path: '/admin/alerts',
    access: 'service',
    tags: ['slo'],
    summary: 'Alert episodes: open ones (pending/firing) or the history',
    request: {
      query: z.object({
        state: z.enum(['open', 'all', 'pending', 'firing', 'resolved', 'cancelled']).default('open'),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
    },
    responses: {
      200: json(
        z.object({ alerts: z.array(Row) }).openapi('Alerts'),
        'Episodes, newest first, each with the runbook hint of its rule (a section of docs/ONCALL.md)',
      ),
    },
  },
  async (c) => {
    const { state, limit } = c.req.valid('query');
    return c.json({ alerts: await listAlerts(c.var.unit.db(), state, limit) }, 200);
  },
);

defineRoute(
  sloRoutes,
  {
    method: 'get',
    path: '/admin/alert-rules',
    access: 'service',
    tags: ['slo'],
    summary: 'Alert rules (the guide §4 thresholds and any added since)',
    responses: {
      200: json(
        z.object({ rules: z.array(Row) }).openapi('AlertRules'),
        'Every rule, with its runbook hint: docs/ONCALL.md#<section>: <what to look at>',
      ),
    },
  },
  async (c) => c.json({ rules: await listRules(c.var.unit.db()) }, 200),
);

defineRoute(
  sloRoutes,
  {
    method: 'patch',
    path: '/admin/alert-rules/{id}',
    access: 'service',
    tags: ['slo'],
    summary: 'Tune, silence, enable/disable or change the action of a rule (ledger: alert_rule.update)',
    request: {
      params: z.object({ id: z.string().regex(/^[a-z0-9_.-]{1,64}$/) }),
      body: { content: { 'application/json': { schema: RulePatchSchema.openapi('AlertRulePatch') } }, required: true },
    },
    responses: {
      200: json(z.object({ rule: Row }), 'The rule after the change'),
      404: errorDoc('No such rule'),
    },
  },
  async (c) => {
    const { unit } = c.var;
    const { id } = c.req.valid('param');
    const rule = await updateRule(unit.db(), id, c.req.valid('json'), { actor: serviceActor(c), requestId: unit.id });
    return c.json({ rule }, 200);
  },
);

defineRoute(
  sloRoutes,
  {
    method: 'post',
    path: '/admin/alerts/evaluate',
    access: 'service',
    tags: ['slo'],
    summary: 'Evaluate alert rules now (what the per-minute cron does); optionally some rules, as of a time',
    request: {
      body: {
        content: {
          'application/json': {
            schema: z
              .object({
                rule_ids: z
                  .array(z.string().regex(/^[a-z0-9_.-]{1,64}$/))
                  .min(1)
                  .max(100)
                  .optional(),
                at: z.iso.datetime({ offset: true }).optional(),
              })
              .strict()
              .openapi('EvaluateAlerts'),
          },
        },
        required: false,
      },
    },
    responses: {
      200: json(
        z.object({
          rules: z.number(),
          transitions: z.array(Row),
          actions: z.array(Row),
          errors: z.array(Row),
          webhooks: z.number(),
          skipped: z.string().optional(),
        }),
        'What changed',
      ),
    },
  },
  async (c) => {
    const { unit } = c.var;
    const body = c.req.valid('json') ?? {};
    const result = await evaluateAlerts(unit, body.at ? new Date(body.at) : new Date(), { ruleIds: body.rule_ids, requestId: unit.id });
    return c.json(result, 200);
  },
);
