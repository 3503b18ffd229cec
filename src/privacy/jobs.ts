// Privacy's cron jobs. Per minute: complete pending erasures (a step that failed in the request —
// KV or the limiter unreachable — is retried here until every store is done), and copy the logged
// rank-context keys to KV. Nightly: tombstones past their window.
import { gcInBatches } from '../db/retention';
import type { Job } from '../platform/job';
import { syncContextPolicy } from './context-policy';
import { sweepErasures } from './erasure';

export const erasureSweep: Job = {
  name: 'erasure-sweep',
  // Not pausable: it only finishes erasures that were asked for, and a legal deadline runs.
  run: (c) => sweepErasures(c),
};

export const contextKeysSync: Job = {
  name: 'context-keys-sync',
  run: ({ env, db }) => syncContextPolicy(env, db()),
};

/** Tombstones older than retention_policies 'erasure_tombstones' (default: the learning_events window). */
export const gcErasureTombstones: Job = {
  name: 'gc-erasure-tombstones',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'erasure_tombstones', 'gc_erasure_tombstones'),
};
