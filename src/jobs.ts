// Composition: which jobs each Cron Trigger of wrangler.toml runs, in order. Every job lives in
// its feature folder; adding one is an entry here (and, for a new schedule, a cron in wrangler.toml).
import { alertsEvaluator } from './alerts/evaluate';
import { discoveryRelayJob, gcIntentSignals, gcQueueDone } from './discovery/upkeep';
import { flagSync } from './flags/sync-job';
import { gcLearningEvents, hydrateFeaturesJob, learningRollupJob, rewardRangeSync } from './learning/jobs';
import { gcJobRuns, gcMetrics, metricsSampler } from './observability/sampler';
import type { Schedules } from './platform/job';
import { rateLimitSync } from './ratelimit/sync-job';

export const schedules: Schedules = {
  '* * * * *': [flagSync, discoveryRelayJob, metricsSampler, alertsEvaluator, rateLimitSync, rewardRangeSync],
  // Rollup first: hydrate-features then publishes the fresh estimates to KV.
  '*/5 * * * *': [learningRollupJob, hydrateFeaturesJob],
  '0 2 * * *': [gcLearningEvents, gcMetrics, gcJobRuns],
  '0 3 * * *': [gcIntentSignals, gcQueueDone],
};
