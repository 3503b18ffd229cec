// Per-minute gauge sampler (cron * * * * *): levels that are not request timings — discovery queue
// and outbox age, dead-letter size, exploration rate (last 15 minutes), the live policy's
// effective epsilon, and what the isolates dropped (learning.impressions_dropped: the sum of every
// isolate's KV drop reports of the last 10 minutes, src/observability/drop-reports.ts) — sampled into
// gauge_metrics_minute, one row per (metric, subject, minute). An upsert on that natural key makes
// a re-run in the same minute overwrite, never add. Every query reads an index-bounded slice
// (queued/error rows by the status index, the last 15 minutes of learning_events by ts).
import { gcInBatches } from '../db/retention';
import { evaluateFlags } from '../flags';
import type { Job } from '../platform/job';
import { DROP_METRICS, DROP_WINDOW_MINUTES, dropReportsKv, readDropTotals } from './drop-reports';
import { errorFields } from './logger';
import { sampleGauges } from './queries';

export const EXPLORATION_WINDOW_MINUTES = 15;

export const metricsSampler: Job = {
  name: 'metrics-sampler',
  async run(c) {
    // The effective epsilon of the live policy: 0 in safe mode, by design (nothing should explore).
    const { policy } = await evaluateFlags(c);
    const external: { metric: string; subject: string; value: number; samples: number }[] = [];
    for (const metric of DROP_METRICS) {
      try {
        const t = await readDropTotals(dropReportsKv(c.env), metric, c.scheduledTime, DROP_WINDOW_MINUTES);
        if (t.truncated) c.log.warn('metrics.drop_reports_truncated', { metric, ...t });
        external.push({ metric, subject: 'all', value: t.dropped, samples: t.reports });
      } catch (err) {
        // No row rather than a 0: a gauge we could not read must not look like "nothing dropped".
        c.log.error('metrics.drop_reports_failed', { metric, ...errorFields(err) });
      }
    }
    const rows = await sampleGauges(c.db(), {
      at: new Date(c.scheduledTime).toISOString(),
      explorationWindowMinutes: EXPLORATION_WINDOW_MINUTES,
      policy: policy.version,
      epsilon: policy.epsilon,
      external,
    });
    return { gauges: rows.length };
  },
};

/** Nightly: expired metric rollups, gauges, ledger ids and closed alerts (retention_policies). */
export const gcMetrics: Job = {
  name: 'gc-metrics',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'request_metrics_minute', 'gc_metrics'),
};

/** Nightly: job_runs past retention (one row per cron job run; 14 days by default, migration 0730). */
export const gcJobRuns: Job = {
  name: 'gc-job-runs',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'job_runs', 'gc_job_runs'),
};
