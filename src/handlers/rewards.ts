// POST /v1/rewards: the caller's reward for an item of one of their decisions. Queued, never
// written on the request path; the consumer applies it to the impression, or parks it until the
// impression lands (rewards may overtake their impressions on the queue).
import { z } from '@hono/zod-openapi';
import { evaluateFlags } from '../flags';
import { serviceUnavailable } from '../http/errors';
import { errorDoc } from '../http/openapi';
import type { RewardMessage } from '../learning/messages';
import { errorFields } from '../observability/logger';
import { createRouter, defineRoute } from '../platform/route';

export const RewardRequest = z
  .object({
    decision_id: z.guid().openapi({ description: 'decision_id from POST /v1/rank', example: '3f1c9a52-7d0e-4b6a-9c3e-2a5b8d7e6f10' }),
    candidate_id: z.string().min(1).max(128).openapi({ example: 'post_abc' }),
    reward: z.number().min(-1000).max(1000).openapi({ example: 1, description: 'Observed reward; the first one for an item wins' }),
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
    tags: ['ranking'],
    summary: 'Report the reward of a slate item',
    request: { body: { required: true, content: { 'application/json': { schema: RewardRequest } } } },
    responses: {
      202: { description: 'Queued (or ignored while learning is disabled)', content: { 'application/json': { schema: RewardResponse } } },
      503: errorDoc('The queue is unavailable; retry'),
    },
  },
  async (c) => {
    const body = c.req.valid('json');
    const user = c.get('user')!;
    const { unit } = c.var;
    const log = unit.log;
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
