// POST /v1/rank (alias POST /functions/v1/policy-ranker): a ranked slate for the caller, decided at
// the edge with no database round trip — flags via evaluateFlags(), features from KV/memory —
// and its learning events handed to the EVENTS queue after the response (ctx.waitUntil), grouped
// with the isolate's other decisions of the same second (learning/impression-sender.ts).
import { z } from '@hono/zod-openapi';
import { evaluateFlags } from '../flags';
import { loadRankFeatures } from '../learning/features-store';
import { impressionSender } from '../learning/impression-sender';
import { DECISION_BOUNDS, impressionsMessage } from '../learning/messages';
import { createRouter, defineRoute } from '../platform/route';
import { getContextPolicy, loggedContext, MAX_LOGGED_STRING } from '../privacy/context-policy';
import { rank } from '../ranker';
import { utf8Bytes } from '../util/utf8';

/**
 * Input bounds: past them the request is a 400. Slate, id and context bounds are the decision's
 * (DECISION_BOUNDS): at all of them at once a decision's learning events still fit one queue message.
 */
export const RANK_LIMITS = {
  slate: DECISION_BOUNDS.slate,
  candidates: 1_000,
  candidateIdLength: DECISION_BOUNDS.candidateIdUnits,
  contextBytes: DECISION_BOUNDS.contextBytes,
  features: 32,
} as const;

const Candidate = z.object({
  id: z
    .string()
    .min(1)
    .max(RANK_LIMITS.candidateIdLength)
    .openapi({ example: 'post_abc', description: `At most ${RANK_LIMITS.candidateIdLength} UTF-16 code units` }),
  score: z
    .number()
    .min(-1e6)
    .max(1e6)
    .optional()
    .openapi({ description: "The caller's prior estimate of this candidate's reward (same scale as rewards)" }),
  features: z
    .record(z.string().max(64), z.number())
    .optional()
    .refine((f) => !f || Object.keys(f).length <= RANK_LIMITS.features, `at most ${RANK_LIMITS.features} features`)
    .openapi({ description: 'Reserved for feature-based policies; epsilon_greedy_v1 does not use them' }),
});

export const RankRequest = z
  .object({
    surface: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - (1-64)')
      .openapi({ example: 'feed' }),
    limit: z.number().int().min(1).max(RANK_LIMITS.slate).default(10),
    context: z
      .record(z.string(), z.unknown())
      .optional()
      .refine(
        // UTF-8 bytes, as the message says: a CJK character is 3 bytes, not 1 (string length).
        (c) => !c || utf8Bytes(JSON.stringify(c)) <= RANK_LIMITS.contextBytes,
        `context must be at most ${RANK_LIMITS.contextBytes} bytes of JSON (UTF-8)`,
      )
      .openapi({
        description:
          `Free-form request context (at most ${RANK_LIMITS.contextBytes} bytes as UTF-8 JSON). Only the keys allowlisted for the surface ` +
          '(public.rank_context_policies; by default `locale`, `platform`, `app_version`) with scalar values (strings up to ' +
          `${MAX_LOGGED_STRING} characters, numbers, booleans) are logged with the learning events, and only they may be ` +
          'used as policy features. Every other key serves this request only and is dropped before the event leaves the ' +
          'edge: do not rely on it being stored, and do not send personal data expecting it to be kept.',
      }),
    candidates: z
      .array(Candidate)
      .min(1)
      .max(RANK_LIMITS.candidates)
      .optional()
      .refine((cs) => !cs || new Set(cs.map((c) => c.id)).size === cs.length, 'candidate ids must be unique')
      .openapi({ description: 'Candidates to rank; when absent, the pools hydrated into KV for this surface and the caller' }),
  })
  .openapi('RankRequest');

const SlateItem = z.object({
  candidate_id: z.string(),
  position: z.number().int(),
  score: z.number().openapi({ description: 'Exploit score: the estimated reward the policy ordered by' }),
  explored: z.boolean().openapi({ description: 'This slot took the exploration branch' }),
  p_exp: z.number().openapi({
    description:
      'Probability that the policy put this candidate at this position given the candidates already placed at the earlier positions ' +
      '(conditional, per position — not the marginal probability of the candidate appearing at this position, nor in the slate). ' +
      'The probability of the whole slate is the product of its p_exp. 0 in safe mode (deterministic slates have none).',
  }),
});

export const RankResponse = z
  .object({
    decision_id: z.guid(),
    policy: z.string().openapi({ example: 'epsilon_greedy_v1' }),
    epsilon: z.number(),
    safe_mode: z.boolean(),
    fallback: z
      .enum(['safe_mode', 'unknown_policy'])
      .nullable()
      .openapi({ description: 'Why the deterministic safe slate was served instead of the configured policy' }),
    logged: z.boolean().openapi({ description: 'Learning events were queued (learning.enabled)' }),
    slate: z.array(SlateItem),
  })
  .openapi('RankResponse');

export const rankRoutes = createRouter();

for (const path of ['/v1/rank', '/functions/v1/policy-ranker'] as const) {
  defineRoute(
    rankRoutes,
    {
      method: 'post',
      path,
      // Hot: the auth step never waits for Postgres (no first-sight users upsert on this route).
      access: 'user',
      hot: true,
      tags: ['ranking'],
      summary: path === '/v1/rank' ? 'Rank candidates for the caller' : "Alias of POST /v1/rank (the guide's policy-ranker)",
      request: { body: { required: true, content: { 'application/json': { schema: RankRequest } } } },
      responses: {
        200: { description: 'The slate', content: { 'application/json': { schema: RankResponse } } },
      },
    },
    async (c) => {
      const body = c.req.valid('json');
      const user = c.get('user')!;
      const { unit } = c.var;
      const log = unit.log;
      const [flags, features, contextPolicy] = await Promise.all([
        evaluateFlags(unit, user.id),
        loadRankFeatures(c.env.FEATURES, log, { surface: body.surface, userId: user.id, pools: !body.candidates }),
        getContextPolicy(c.env, log),
      ]);
      const decision = rank({
        decisionId: crypto.randomUUID(),
        limit: body.limit,
        policy: flags.policy,
        safeMode: flags.safeMode,
        candidates: body.candidates,
        features,
      });
      if (decision.fallback === 'unknown_policy') {
        log.error('ranker.unknown_policy', { version: flags.policy.version, decision_id: decision.decision_id });
      }
      const logged = flags.learning && decision.items.length > 0;
      if (logged) {
        const msg = impressionsMessage(decision, {
          userId: user.id,
          surface: body.surface,
          // Only the surface's allowlisted keys leave the Worker (src/privacy/context-policy.ts).
          context: loggedContext(contextPolicy, body.surface, body.context).context,
          ts: new Date().toISOString(),
        });
        impressionSender.add(msg, c.env, unit.waitUntil, log);
      }
      return c.json(
        {
          decision_id: decision.decision_id,
          policy: decision.policy,
          epsilon: decision.epsilon,
          safe_mode: flags.safeMode,
          fallback: decision.fallback ?? null,
          logged,
          slate: decision.items.map(({ candidate_id, position, score, explored, p_exp }) => ({
            candidate_id,
            position,
            score,
            explored,
            p_exp,
          })),
        },
        200,
      );
    },
  );
}
