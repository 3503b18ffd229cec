// Composition: which jobs each Cron Trigger of wrangler.toml runs, in order. Every job lives in
// its feature folder; adding one is an entry here (and, for a new schedule, a cron in wrangler.toml).
import { alertsEvaluator } from './alerts/evaluate';
import { discoveryRelayJob, gcIntentSignals, gcQueueDone } from './discovery/upkeep';
import { flagSync } from './flags/sync-job';
import { gcLearningEvents, hydrateFeaturesJob, learningRollupJob, rewardRangeSync } from './learning/jobs';
import { gcJobRuns, gcMetrics, metricsSampler } from './observability/sampler';
import type { Schedules } from './platform/job';
import { contextKeysSync, erasureSweep, gcErasureTombstones } from './privacy/jobs';
import { rateLimitSync } from './ratelimit/sync-job';

export const schedules: Schedules = {
  '* * * * *': [
    flagSync,
    discoveryRelayJob,
    metricsSampler,
    alertsEvaluator,
    rateLimitSync,
    rewardRangeSync,
    contextKeysSync,
    erasureSweep,
  ],
  // Rollup first: hydrate-features then publishes the fresh estimates to KV.
  '*/5 * * * *': [learningRollupJob, hydrateFeaturesJob],
  // Tombstones of erased users live as long as learning events: both expire in the same run.
  '0 2 * * *': [gcLearningEvents, gcMetrics, gcJobRuns, gcErasureTombstones],
  '0 3 * * *': [gcIntentSignals, gcQueueDone],
};
