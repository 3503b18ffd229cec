// The learning loop's cron jobs (*/5): roll events and rewards up, then hydrate KV features from
// the fresh rollups so the ranker's exploit order follows the rewards within one cycle.
import type { Job } from '../cron';
import type { Db } from '../db/client';
import { hydrateFeatures } from './hydrate';
import { runLearningRollup } from './rollup';
import { fromPg, type SqlRunner } from './sql';

/**
 * Run fn on one dedicated pooled connection: Db.query may use a different connection per call,
 * so a transaction must hold a client.
 */
async function withConnection<T>(db: Db, fn: (conn: SqlRunner) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    return await fn(fromPg(client));
  } finally {
    client.release();
  }
}

export const runRollupJob = (db: Db) => withConnection(db, runLearningRollup);

export const learningRollupJob: Job = {
  name: 'learning-rollup',
  pausable: true,
  run: async (c) => ({ ...(await runRollupJob(c.db())) }),
};

export const hydrateFeaturesJob: Job = {
  name: 'hydrate-features',
  pausable: true,
  run: (c) => hydrateFeatures(c),
};
