// Learning messages on the EVENTS queue. A `learning.impressions` body describes one decision: one
// event per slate item (everything a learning_events row holds, plus the propensity log). The rank
// route sends them grouped, many decisions per `learning.impressions.batch` message; the consumer
// still accepts single `learning.impressions` messages (sent by earlier versions during a deploy).
// `learning.reward` carries one reward.
import { z } from 'zod';
import type { Decision } from '../ranker';

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
