// The learning loop's cron jobs: every 5 minutes roll events and rewards up, then hydrate KV
// features from the fresh rollups so the ranker's exploit order follows the rewards within one
// cycle; every minute, copy the reward ranges to the edge; nightly, delete learning events (and
// the per-user-day rows of the shared statistics) past their retention window.
import { gcInBatches } from '../db/retention';
import type { Job } from '../platform/job';
import { hydrateFeatures } from './hydrate';
import { syncRewardRanges } from './reward-ranges';
import { runLearningRollup } from './rollup';

export const learningRollupJob: Job = {
  name: 'learning-rollup',
  pausable: true,
  run: async (c) => {
    const r = await runLearningRollup(c.db());
    // Parked rewards the sweep refused (outside their impression's surface range): counted in
    // learning.rewards_rejected by the statement, logged here like the consumer's rejections.
    if (r.rejected_rewards > 0) c.log.warn('learning.rewards_rejected', { rejected: r.rejected_rewards, path: 'sweep' });
    return { ...r };
  },
};

/** Every minute: public.reward_ranges → KV LIMITS, where POST /v1/rewards reads it (not pausable: config, like rate limits). */
export const rewardRangeSync: Job = {
  name: 'reward-range-sync',
  run: ({ env, db }) => syncRewardRanges(env, db()),
};

export const hydrateFeaturesJob: Job = {
  name: 'hydrate-features',
  pausable: true,
  run: (c) => hydrateFeatures(c),
};

/** Nightly retention of learning_events and learning_candidate_user_days (window and batch size from retention_policies). */
export const gcLearningEvents: Job = {
  name: 'gc-learning-events',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'learning_events', 'gc_learning_events'),
};
