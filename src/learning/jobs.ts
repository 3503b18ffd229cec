// The learning loop's cron jobs (*/5): roll events and rewards up, then hydrate KV features from
// the fresh rollups so the ranker's exploit order follows the rewards within one cycle.
import type { Job } from '../cron';
import type { Db } from '../db/client';
import { hydrateFeatures } from './hydrate';
import { runLearningRollup } from './rollup';
import { withConnection } from './sql';

export const runRollupJob = (db: Db) => withConnection(db, runLearningRollup);

export const learningRollupJob: Job = {
  name: 'learning-rollup',
  run: async (c) => ({ ...(await runRollupJob(c.db())) }),
};

export const hydrateFeaturesJob: Job = {
  name: 'hydrate-features',
  run: (c) => hydrateFeatures(c),
};
