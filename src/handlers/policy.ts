// Admin side of the learning loop (service key):
//   GET  /admin/policy/ope                  off-policy estimates of target policies, from the OPE rollups
//   POST /admin/policy/rollup               run the learning rollup now (the */5 cron does it too)
//   POST /functions/v1/hydrate-features     write pools and scores to KV now (guide's edge function)
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { evaluateFlags } from '../flags';
import { ApiError } from '../http/errors';
import { hydrateFeatures } from '../learning/hydrate';
import { OPE_STATEMENT_TIMEOUT_MS, readOpeWindow } from '../learning/queries-ope';
import { runLearningRollup } from '../learning/rollup';
import { rootCause } from '../observability/logger';
import { runOnDemand } from '../platform/job-run';
import { type AccessOptions, createRouter, defineRoute } from '../platform/route';
import type { Unit } from '../platform/unit';
import { estimatesFromSums, OPE_CLIP, OPE_SUPPORT, OPE_TARGETS } from '../ranker';

const Estimate = z.object({
  estimate: z.number().nullable(),
  se: z.number().nullable(),
  ci_low: z.number().nullable(),
  ci_high: z.number().nullable(),
});

const ROLLED_EPSILONS = OPE_TARGETS.flatMap((t) => (t.epsilon === null ? [] : [t.epsilon])).sort((a, b) => a - b);

const OpeResponse = z
  .object({
    policy: z.string(),
    days: z.number().openapi({ description: 'The last `days` UTC days, today included' }),
    surface: z.string().nullable(),
    clip: z.number().openapi({ description: 'Cumulative weights are clipped here (fixed: the rollups are computed at it)' }),
    reward_range: z
      .tuple([z.number(), z.number()])
      .openapi({ description: "A priori reward range used to bound the clipped weights' worth (the surface's reward_ranges row)" }),
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
        status: z.enum(['ok', 'insufficient_support']).openapi({
          description:
            'insufficient_support: the log cannot say how this target would do (see reasons and the RUNBOOK); the estimates are null',
        }),
        reasons: z.array(z.string()),
        decisions: z.number(),
        impressions: z.number(),
        ips: Estimate,
        snips: Estimate,
        dr: Estimate,
        ess: z.number().nullable().openapi({
          description: 'Decision-level Kish effective sample size (Σ_d W_d)² / Σ_d W_d², W_d = Σ_k min(ρ_k, clip); never above decisions',
        }),
        clipped: z.number().openapi({ description: 'Items whose cumulative weight exceeded the clip' }),
        clipped_mass_share: z.number().nullable().openapi({ description: 'Σ(ρ − min(ρ, clip)) / Σρ: share of the weight mass clipped' }),
        mean_weight: z.number().nullable().openapi({
          description: 'Σ min(ρ, clip) / impressions: 1 in expectation when the logging policy covers the target and nothing is clipped',
        }),
      }),
    ),
  })
  .openapi('PolicyOpe');

const epsilonList = z
  .string()
  .regex(/^(0(\.\d+)?|1(\.0+)?)(,(0(\.\d+)?|1(\.0+)?)){0,6}$/, 'comma-separated numbers in [0, 1]')
  .transform((s) => s.split(',').map(Number))
  .refine(
    (es) => es.every((e) => ROLLED_EPSILONS.includes(e)),
    `epsilons must be among ${ROLLED_EPSILONS.join(', ')} (the targets the rollups keep)`,
  );

export const policyRoutes = createRouter();

/** Postgres cancelled the statement (statement_timeout): the OPE read took too long. */
const isStatementTimeout = (err: unknown) => (rootCause(err) as { code?: unknown } | null)?.code === '57014';

defineRoute(
  policyRoutes,
  {
    method: 'get',
    path: '/admin/policy/ope',
    access: 'service',
    tags: ['admin'],
    summary: 'Off-policy evaluation: IPS, SNIPS and DR with 95% CIs per target policy, or insufficient_support',
    description: [
      'Estimand: reward per impression (unrewarded = 0) the target epsilon-greedy policy would have earned on the logged',
      'decisions (same candidates, same exploit scores). Per-decision importance weights ρ_k = Π_{j≤k} π_t/p_exp clipped',
      `at ${OPE_CLIP}. Intervals: delta-method normal 95 % intervals over decisions, widened by the most the clipped weight`,
      'could be worth within the reward range; reported only with support (decision-level ESS ≥',
      `${OPE_SUPPORT.minEss}, mean clipped weight ≥ ${1 - OPE_SUPPORT.maxMissingMass}, clipped mass ≤ ${OPE_SUPPORT.maxClippedShare}),`,
      'else status insufficient_support with the reasons. Read from the per-day rollups plus the unrolled tail under a',
      `${OPE_STATEMENT_TIMEOUT_MS} ms statement timeout (503 with Retry-After past it). Targets and clip are a fixed set.`,
    ].join(' '),
    request: {
      query: z.object({
        policy: z.string().min(1).max(64).optional().openapi({ description: 'Logged policy (default: the ranker.policy flag version)' }),
        days: z.coerce.number().int().min(1).max(90).default(7),
        surface: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
          .optional(),
        epsilons: epsilonList.optional().openapi({
          type: 'string',
          description: `Only these epsilon targets (besides greedy, logged and uniform); among ${ROLLED_EPSILONS.join(', ')}. Default: all`,
        }),
        clip: z.coerce
          .number()
          .refine((c) => c === OPE_CLIP, `clip is fixed at ${OPE_CLIP} (the rollups are computed at it)`)
          .default(OPE_CLIP),
      }),
    },
    responses: {
      200: { description: 'Estimates per target policy', content: { 'application/json': { schema: OpeResponse } } },
      503: { description: 'The OPE read exceeded its statement timeout, or the database is unreachable (Retry-After)' },
    },
  },
  async (c) => {
    const q = c.req.valid('query');
    const { unit } = c.var;
    const flags = await evaluateFlags(unit);
    const policy = q.policy ?? flags.values['ranker.policy'].version;
    const wanted = new Set(q.epsilons ?? ROLLED_EPSILONS);
    const targets = OPE_TARGETS.filter((t) => t.epsilon === null || t.epsilon === 0 || t.epsilon === 1 || wanted.has(t.epsilon));
    const window = { policy, days: q.days, surface: q.surface };
    const { sums, logged } = await readOpeWindow(
      unit.db(),
      window,
      OPE_TARGETS.map((t) => t.name),
    ).catch((err: unknown) => {
      if (!isStatementTimeout(err)) throw err;
      unit.log.warn('ope.timeout', { policy, days: q.days, surface: q.surface ?? null });
      throw new ApiError(
        503,
        'timeout',
        `the OPE read exceeded its ${OPE_STATEMENT_TIMEOUT_MS} ms statement timeout; retry later or ask for fewer days`,
        undefined,
        {
          'Retry-After': '30',
        },
      );
    });
    const rewardRange: [number, number] = [logged.reward_lo, logged.reward_hi];
    const withPropensity = sums.get('logged')!.items;
    return c.json(
      {
        policy,
        days: q.days,
        surface: q.surface ?? null,
        clip: OPE_CLIP,
        reward_range: rewardRange,
        logged: {
          decisions: logged.decisions,
          impressions: logged.impressions,
          rewarded: logged.rewarded,
          reward_per_impression: logged.impressions > 0 ? logged.reward_sum / logged.impressions : null,
          without_propensity: Math.max(0, logged.impressions - withPropensity),
        },
        targets: targets.map((t) => ({ name: t.name, epsilon: t.epsilon, ...estimatesFromSums(sums.get(t.name)!, { rewardRange }) })),
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
