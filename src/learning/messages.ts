// Learning messages on the EVENTS queue. A `learning.impressions` body describes one decision: one
// event per slate item (everything a learning_events row holds, plus the propensity log). The rank
// route sends them grouped, many decisions per `learning.impressions.batch` message; the consumer
// still accepts single `learning.impressions` messages (sent by earlier versions during a deploy).
// `learning.reward` carries one reward.
import { z } from 'zod';
import type { Decision } from '../ranker';
import { jsonBytes } from '../util/utf8';

/**
 * What one decision may carry. POST /v1/rank enforces these (RANK_LIMITS); the impression sender
 * relies on them: a decision at every bound at once still fits one queue message, so no decision
 * can ever be unsendable (maxDecisionMessageBytes, checked by test/worker/impression-size.test.ts).
 * Ids are counted in UTF-16 units (zod's .max) and may be any script; JSON writes one unit as at
 * most 6 bytes (a control character as \u0001, a lone surrogate as \udXXX), so an id is at most
 * 768 bytes of JSON. The context is counted in UTF-8 bytes of its JSON, exactly what it adds.
 */
export const DECISION_BOUNDS = {
  slate: 100,
  candidateIdUnits: 128,
  contextBytes: 2_048,
  surfaceLength: 64,
  policyLength: 64,
} as const;

const MAX_JSON_BYTES_PER_UNIT = 6;
/** The longest JSON a finite double can take (e.g. -0.0000012345678901234567): 25 characters. */
const LONGEST_NUMBER = -1.2345678901234567e-6;

const propensity = {
  n_remaining: z.number().int().positive().nullable().optional(),
  is_greedy: z.boolean().nullable().optional(),
  p_prefix: z.number().min(0).max(1).nullable().optional(),
  greedy_prefix: z.boolean().nullable().optional(),
  q_greedy: z.number().nullable().optional(),
  q_mean: z.number().nullable().optional(),
};

export const ImpressionEvent = z.object({
  candidate_id: z.string().min(1).max(128),
  position: z.number().int().min(0).max(1000),
  score: z.number().nullable(),
  p_exp: z.number().min(0).max(1),
  explored: z.boolean(),
  ...propensity,
});

export const ImpressionsMessage = z.object({
  type: z.literal('learning.impressions'),
  v: z.literal(1),
  decision_id: z.guid(),
  user_id: z.guid().nullable(),
  surface: z.string().min(1).max(64),
  policy: z.string().min(1).max(64),
  ts: z.iso.datetime({ offset: true }),
  context: z.record(z.string(), z.unknown()),
  events: z.array(ImpressionEvent).min(1).max(1000),
});
export type ImpressionsMessage = z.infer<typeof ImpressionsMessage>;

/**
 * An upper bound of one decision's JSON size under DECISION_BOUNDS: every field at its longest
 * (numbers 25 characters, booleans `false`, the latest ISO time, ids and context at their bound).
 * About 112 KB, against 127 KB per message (src/queues/queue-limits.ts).
 */
export function maxDecisionMessageBytes(): number {
  const b = DECISION_BOUNDS;
  const x = LONGEST_NUMBER;
  const longest: ImpressionsMessage = {
    type: 'learning.impressions',
    v: 1,
    decision_id: '00000000-0000-0000-0000-000000000000',
    user_id: '00000000-0000-0000-0000-000000000000',
    surface: 'x'.repeat(b.surfaceLength),
    policy: 'x'.repeat(b.policyLength),
    ts: new Date(8.64e15).toISOString(), // +275760-09-13T00:00:00.000Z, the longest a Date prints
    context: {},
    events: Array.from({ length: b.slate }, () => ({
      candidate_id: '',
      position: x,
      score: x,
      p_exp: x,
      explored: false,
      n_remaining: x,
      is_greedy: false,
      p_prefix: x,
      greedy_prefix: false,
      q_greedy: x,
      q_mean: x,
    })),
  };
  const ids = b.slate * b.candidateIdUnits * MAX_JSON_BYTES_PER_UNIT;
  return jsonBytes(longest) - jsonBytes({}) + b.contextBytes + ids;
}

/** Many decisions in one message: what the rank route's per-isolate buffer sends (impression-sender.ts). */
export const ImpressionsBatchMessage = z.object({
  type: z.literal('learning.impressions.batch'),
  v: z.literal(1),
  decisions: z.array(ImpressionsMessage).min(1).max(2_000),
});
export type ImpressionsBatchMessage = z.infer<typeof ImpressionsBatchMessage>;

export const RewardMessage = z.object({
  type: z.literal('learning.reward'),
  v: z.literal(1),
  decision_id: z.guid(),
  candidate_id: z.string().min(1).max(128),
  user_id: z.guid(),
  reward: z.number().min(-1e6).max(1e6),
  ts: z.iso.datetime({ offset: true }),
});
export type RewardMessage = z.infer<typeof RewardMessage>;

/** The message that logs a decision: one event per slate item. */
export function impressionsMessage(
  d: Decision,
  meta: { userId: string | null; surface: string; context: Record<string, unknown>; ts: string },
): ImpressionsMessage {
  return {
    type: 'learning.impressions',
    v: 1,
    decision_id: d.decision_id,
    user_id: meta.userId,
    surface: meta.surface,
    policy: d.policy,
    ts: meta.ts,
    context: meta.context,
    events: d.items.map((it) => ({
      candidate_id: it.candidate_id,
      position: it.position,
      score: it.score,
      p_exp: it.p_exp,
      explored: it.explored,
      ...(it.ope ?? {}),
    })),
  };
}
