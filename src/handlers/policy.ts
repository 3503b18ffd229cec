// Admin side of the learning loop (service key):
//   GET  /admin/policy/ope                  off-policy estimates of target policies from the log
//   POST /admin/policy/rollup               run the learning rollup now (the */5 cron does it too)
//   POST /functions/v1/hydrate-features     write pools and scores to KV now (guide's edge function)
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { evaluateFlags } from '../flags';
import { hydrateFeatures } from '../learning/hydrate';
import { loggedSummary, opeSums } from '../learning/queries-ope';
import { runLearningRollup } from '../learning/rollup';
import { runOnDemand } from '../platform/job-run';
import { type AccessOptions, createRouter, defineRoute } from '../platform/route';
import type { Unit } from '../platform/unit';
import { DEFAULT_CLIP, defaultTargets, estimatesFromSums } from '../ranker';

const Estimate = z.object({
  estimate: z.number().nullable(),
  se: z.number().nullable(),
  ci_low: z.number().nullable(),
  ci_high: z.number().nullable(),
});

const OpeResponse = z
  .object({
    policy: z.string(),
    days: z.number(),
    surface: z.string().nullable(),
    clip: z.number(),
    logged: z.object({
      decisions: z.number(),
      impressions: z.number(),
      rewarded: z.number(),
      reward_per_impression: z.number().nullable(),
      without_propensity: z.number().openapi({ description: 'Impressions left out of OPE (safe mode, direct inserts)' }),
    }),
    targets: z.array(
      z.object({
        name: z.string(),
        epsilon: z.number().nullable().openapi({ description: 'null = the logging policy itself' }),
        decisions: z.number(),
        impressions: z.number(),
        ips: Estimate,
        snips: Estimate,
        dr: Estimate,
        ess: z.number().nullable(),
        clipped: z.number(),
      }),
    ),
  })
  .openapi('PolicyOpe');

const epsilonList = z
  .string()
  .regex(/^(0(\.\d+)?|1(\.0+)?)(,(0(\.\d+)?|1(\.0+)?)){0,4}$/, 'comma-separated numbers in [0, 1], at most 5')
  .transform((s) => s.split(',').map(Number));

export const policyRoutes = createRouter();

defineRoute(
  policyRoutes,
  {
    method: 'get',
    path: '/admin/policy/ope',
    access: 'service',
    tags: ['admin'],
    summary: 'Off-policy evaluation: IPS, SNIPS and DR with 95% CIs for greedy, uniform, other ε and the logged policy',
    request: {
      query: z.object({
        policy: z.string().min(1).max(64).optional().openapi({ description: 'Logged policy (default: the ranker.policy flag version)' }),
        days: z.coerce.number().int().min(1).max(90).default(7),
        surface: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
          .optional(),
        epsilons: epsilonList
          .optional()
          .openapi({ type: 'string', description: 'Extra target epsilons (default: ε/2 and 2ε of the flag)' }),
        clip: z.coerce.number().min(1).max(1e9).default(DEFAULT_CLIP),
      }),
    },
    responses: {
      200: { description: 'Estimates per target policy', content: { 'application/json': { schema: OpeResponse } } },
    },
  },
  async (c) => {
    const q = c.req.valid('query');
    const { unit } = c.var;
    const flags = await evaluateFlags(unit);
    const configured = flags.values['ranker.policy'];
    const policy = q.policy ?? configured.version;
    const eps = configured.epsilon;
    const targets = defaultTargets(q.epsilons ?? [eps / 2, Math.min(1, eps * 2)].map((e) => Math.round(e * 1e6) / 1e6));
    const db = unit.db();
    const [sums, logged] = await Promise.all([
      opeSums(db, { policy, days: q.days, surface: q.surface, targets, clip: q.clip }),
      loggedSummary(db, { policy, days: q.days, surface: q.surface }),
    ]);
    return c.json(
      {
        policy,
        days: q.days,
        surface: q.surface ?? null,
        clip: q.clip,
        logged: {
          decisions: logged.decisions,
          impressions: logged.impressions,
          rewarded: logged.rewarded,
          reward_per_impression: logged.impressions > 0 ? logged.reward_sum / logged.impressions : null,
          without_propensity: logged.without_propensity,
        },
        targets: targets.map((t) => {
          const e = estimatesFromSums(sums.get(t.name)!);
          return {
            name: t.name,
            epsilon: t.epsilon,
            decisions: e.decisions,
            impressions: e.impressions,
            ips: e.ips,
            snips: e.snips,
            dr: e.dr,
            ess: e.ess,
            clipped: e.clipped,
          };
        }),
      },
      200,
    );
  },
);

const JobResult = z.record(z.string(), z.union([z.number(), z.string()])).openapi('JobResult');

/**
 * A "run this job now" route: service key, the job's result as JSON, one job_runs row with who
 * asked (src/platform/job-run.ts says why such a run is not a ledger entry).
 */
function jobRoute(
  def: { path: string; tags: string[]; summary: string; job: string } & Pick<AccessOptions, 'limitClass'>,
  run: (unit: Unit) => Promise<object>,
) {
  defineRoute(
    policyRoutes,
    {
      method: 'post',
      path: def.path,
      access: 'service',
      limitClass: def.limitClass,
      tags: def.tags,
      summary: def.summary,
      description: `Runs the \`${def.job}\` cron job now; recorded in public.job_runs (trigger api, the caller's x-actor), not in ai_action_ledger.`,
      responses: {
        200: { description: 'What the job did', content: { 'application/json': { schema: JobResult } } },
      },
    },
    async (c) => {
      const { unit } = c.var;
      const result = await runOnDemand(unit, { job: def.job, route: `POST ${def.path}`, actor: serviceActor(c) }, () => run(unit));
      return c.json(result as Record<string, number | string>, 200);
    },
  );
}

jobRoute(
  {
    path: '/admin/policy/rollup',
    tags: ['admin'],
    job: 'learning-rollup',
    summary: 'Run the learning rollup now (events and rewards → per-candidate and per-surface estimates)',
  },
  (unit) => runLearningRollup(unit.db()),
);

jobRoute(
  {
    path: '/functions/v1/hydrate-features',
    tags: ['jobs'],
    job: 'hydrate-features',
    limitClass: 'job',
    summary: 'Write candidate pools and learned scores to KV FEATURES now (guide §1C hydrate-features)',
  },
  (unit) => hydrateFeatures(unit),
);
