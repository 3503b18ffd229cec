// The learning loop's cron jobs: every 5 minutes roll events and rewards up, then hydrate KV
// features from the fresh rollups so the ranker's exploit order follows the rewards within one
// cycle; nightly, delete learning events past their retention window.
import { gcInBatches } from '../db/retention';
import type { Job } from '../platform/job';
import { hydrateFeatures } from './hydrate';
import { runLearningRollup } from './rollup';

export const learningRollupJob: Job = {
  name: 'learning-rollup',
  pausable: true,
  run: async (c) => ({ ...(await runLearningRollup(c.db())) }),
};

export const hydrateFeaturesJob: Job = {
  name: 'hydrate-features',
  pausable: true,
  run: (c) => hydrateFeatures(c),
};

/** Nightly retention of learning_events (batch size from retention_policies). */
export const gcLearningEvents: Job = {
  name: 'gc-learning-events',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'learning_events', 'gc_learning_events'),
};
