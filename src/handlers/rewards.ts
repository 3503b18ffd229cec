// POST /v1/rewards: the caller's reward for an item of one of their decisions. Queued, never
// written on the request path; the consumer applies it to the impression, or parks it until the
// impression lands (rewards may overtake their impressions on the queue).
// The reward must lie in the reward range of the decision's surface (public.reward_ranges, read
// from isolate memory / KV, never Postgres here): outside it → 400 naming the range. The consumer
// checks again against the impression's real surface and records a reward outside it as rejected,
// so a client naming the wrong surface gains nothing. Rewards have their own rate-limit class.
import { z } from '@hono/zod-openapi';
import { withDb } from '../db/client';
import { evaluateFlags } from '../flags';
import { badRequest, serviceUnavailable } from '../http/errors';
import { errorDoc } from '../http/openapi';
import type { RewardMessage } from '../learning/messages';
import { RANGE_BOUND } from '../learning/reward-range-writes';
import { checkReward, getRewardRanges } from '../learning/reward-ranges';
import { errorFields } from '../observability/logger';
import { createRouter, defineRoute } from '../platform/route';

export const RewardRequest = z
  .object({
    decision_id: z.guid().openapi({ description: 'decision_id from POST /v1/rank', example: '3f1c9a52-7d0e-4b6a-9c3e-2a5b8d7e6f10' }),
    candidate_id: z.string().min(1).max(128).openapi({ example: 'post_abc' }),
    reward: z
      .number()
      .min(-RANGE_BOUND)
      .max(RANGE_BOUND)
      .openapi({
        example: 1,
        description:
          "Observed reward; the first one for an item wins. It must lie in the reward range of the decision's surface " +
          '(default [0, 1]; operators set ranges per surface with PUT /admin/reward-ranges/{surface}), else 400 naming the range. ' +
          "Checked again against the decision's real surface when it is applied: a reward outside that range is recorded as " +
          'rejected and never applied.',
      }),
    surface: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - (1-64)')
      .optional()
      .openapi({
        example: 'feed',
        description:
          'The surface the decision was ranked for (the `surface` of POST /v1/rank). Optional: without it the reward is ' +
          "checked against the default range, so clients of surfaces with their own range should send it. The decision's " +
          'real surface, not this field, decides whether the reward is applied.',
      }),
  })
  .openapi('RewardRequest');

const RewardResponse = z
  .object({
    accepted: z.boolean(),
    reason: z.enum(['learning_disabled']).optional(),
  })
  .openapi('RewardResponse');

export const rewardRoutes = createRouter();

defineRoute(
  rewardRoutes,
  {
    method: 'post',
    path: '/v1/rewards',
    access: 'user',
    limitClass: 'reward',
    tags: ['ranking'],
    summary: 'Report the reward of a slate item',
    request: { body: { required: true, content: { 'application/json': { schema: RewardRequest } } } },
    responses: {
      202: { description: 'Queued (or ignored while learning is disabled)', content: { 'application/json': { schema: RewardResponse } } },
      400: errorDoc('Invalid body, or the reward is outside the reward range (the message names the range and whose it is)'),
      503: errorDoc('The queue is unavailable; retry'),
    },
  },
  async (c) => {
    const body = c.req.valid('json');
    const user = c.get('user')!;
    const { unit } = c.var;
    const log = unit.log;
    const ranges = await getRewardRanges({
      env: c.env,
      log,
      background: unit.waitUntil,
      withDb: (fn) => withDb(c.env, log, fn),
    });
    const verdict = checkReward(ranges, body.reward, body.surface);
    if (!verdict.ok) {
      throw badRequest(verdict.message!, {
        range: { min: verdict.min, max: verdict.max, source: verdict.source, surface: body.surface ?? null },
      });
    }
    const flags = await evaluateFlags(unit, user.id);
    if (!flags.learning) return c.json({ accepted: false, reason: 'learning_disabled' as const }, 202);
    const msg: RewardMessage = {
      type: 'learning.reward',
      v: 1,
      decision_id: body.decision_id.toLowerCase(),
      candidate_id: body.candidate_id,
      user_id: user.id,
      reward: body.reward,
      ts: new Date().toISOString(),
    };
    try {
      await c.env.EVENTS.send(msg, { contentType: 'json' });
    } catch (err) {
      log.error('learning.reward_enqueue_failed', errorFields(err));
      throw serviceUnavailable('reward queue unavailable, retry later');
    }
    return c.json({ accepted: true }, 202);
  },
);
