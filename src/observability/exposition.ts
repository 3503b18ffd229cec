// GET /admin/metrics: the rollups and views as OpenMetrics 1.0 text (Prometheus scrapes it; see
// README "Observability"). Pure formatting: rows in, text out (queries-export.ts reads them).
//
// Windows, not counters: the Worker keeps no process-lifetime counters (isolates come and go; the
// truth is the per-minute rollup in Postgres), so the request histograms cover the last hour, as
// vw_kernel_slos does. Query them with histogram_quantile() directly, never rate()/increase().
import { bucketUpperMs } from './histogram';
import type { BurnRate } from './queries';
import type { FlagRow, HistogramRow, QueueRow } from './queries-export';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Labels = Record<string, string>;
interface Sample {
  suffix?: string;
  labels?: Labels;
  value: number;
}
interface Family {
  name: string;
  type: 'gauge' | 'histogram';
  unit?: string;
  help: string;
  samples: Sample[];
}

// Exposed bucket bounds: every 4th rollup bucket (upper(4k) = 2^k ms exactly), 1 ms … 65.5 s. The
// rollup's bucket i counts [upper(i-1), upper(i)), so the cumulative count through bucket 4k is the
// number of requests faster than 2^k ms; 17 bounds per operation instead of 96.
const EXPOSED_BUCKETS = Array.from({ length: 17 }, (_, k) => 4 * k);

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function render(families: Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# TYPE ${f.name} ${f.type}`);
    if (f.unit) out.push(`# UNIT ${f.name} ${f.unit}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {});
      const set = labels.length > 0 ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      out.push(`${f.name}${s.suffix ?? ''}${set} ${number(s.value)}`);
    }
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

function histogramSamples(row: HistogramRow): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  let next = 0;
  for (const j of EXPOSED_BUCKETS) {
    while (next <= j && next < row.buckets.length) cumulative += row.buckets[next++]!;
    samples.push({ suffix: '_bucket', labels: { operation: row.operation, le: number(bucketUpperMs(j) / 1000) }, value: cumulative });
  }
  const total = row.buckets.reduce((a, b) => a + b, 0);
  samples.push({ suffix: '_bucket', labels: { operation: row.operation, le: '+Inf' }, value: total });
  samples.push({ suffix: '_count', labels: { operation: row.operation }, value: total });
  samples.push({ suffix: '_sum', labels: { operation: row.operation }, value: row.latency_sum_ms / 1000 });
  return samples;
}

export interface ExpositionInput {
  histograms: HistogramRow[];
  burnRates: BurnRate[];
  queues: QueueRow[];
  flags: FlagRow[];
}

const WINDOWS = [
  ['5m', 'burn_rate_5m'],
  ['30m', 'burn_rate_30m'],
  ['1h', 'burn_rate_1h'],
  ['6h', 'burn_rate_6h'],
] as const;

// The discovery queue has no topics: no topic label rather than an empty one.
const queueLabels = (q: QueueRow): Labels => ({ queue: q.queue, ...(q.topic ? { topic: q.topic } : {}), status: q.status });

export function exposition(input: ExpositionInput): string {
  const live = input.queues.filter((q) => q.status !== 'error');
  const dead = (source: string) => input.queues.filter((q) => q.queue === source && q.status === 'error').reduce((a, q) => a + q.count, 0);
  const safeMode = input.flags.find((f) => f.safe_mode !== null)?.safe_mode ?? false;
  return render([
    {
      name: 'edge_request_duration_seconds',
      type: 'histogram',
      unit: 'seconds',
      help: 'Request latency per operation over the last hour (per-minute rollups; a sliding window: use histogram_quantile() without rate())',
      samples: input.histograms.flatMap(histogramSamples),
    },
    {
      name: 'edge_request_errors',
      type: 'gauge',
      help: 'Requests per operation that failed (5xx) over the last hour',
      samples: input.histograms.map((h) => ({ labels: { operation: h.operation }, value: h.errors })),
    },
    {
      name: 'edge_queue_depth',
      type: 'gauge',
      help: 'Queue rows waiting (queued) or in flight (processing), per queue and topic (vw_events_queue_health, vw_discovery_queue_health)',
      samples: live.map((q) => ({ labels: queueLabels(q), value: q.count })),
    },
    {
      name: 'edge_queue_oldest_age_seconds',
      type: 'gauge',
      unit: 'seconds',
      help: 'Age of the oldest queued or in-flight row, per queue and topic',
      samples: live.map((q) => ({ labels: queueLabels(q), value: q.oldest_age_sec ?? 0 })),
    },
    {
      name: 'edge_dlq_size',
      type: 'gauge',
      help: 'Dead letters per source (vw_dead_letter_queue): messages that exhausted their retries or could not be processed',
      samples: ['discovery', 'events'].map((source) => ({ labels: { source }, value: dead(source) })),
    },
    {
      name: 'edge_slo_burn_rate',
      type: 'gauge',
      help: 'Error-budget burn rate per SLO and window (vw_slo_burnrate): error ratio / (1 - availability target)',
      samples: input.burnRates.flatMap((b) =>
        WINDOWS.filter(([, k]) => b[k] !== null).map(([window, k]) => ({ labels: { operation: b.operation, window }, value: b[k]! })),
      ),
    },
    {
      name: 'edge_slo_availability_target',
      type: 'gauge',
      help: 'Availability objective per SLO (slo_targets)',
      samples: input.burnRates
        .filter((b) => b.availability_target !== null)
        .map((b) => ({ labels: { operation: b.operation }, value: b.availability_target! })),
    },
    {
      name: 'edge_slo_alert',
      type: 'gauge',
      help: "1 while the SRE workbook's multi-window burn alert holds: page (1 h and 5 m > 14.4), ticket (6 h and 30 m > 6)",
      samples: input.burnRates.flatMap((b) => [
        { labels: { operation: b.operation, severity: 'page' }, value: b.page_alert ? 1 : 0 },
        { labels: { operation: b.operation, severity: 'ticket' }, value: b.ticket_alert ? 1 : 0 },
      ]),
    },
    {
      name: 'edge_safe_mode',
      type: 'gauge',
      help: 'global.safe_mode in Postgres (the truth; isolates converge within one cron cycle): 1 on, 0 off',
      samples: [{ value: safeMode ? 1 : 0 }],
    },
    {
      name: 'edge_flag_revision',
      type: 'gauge',
      help: 'Revision of each flag (feature_flag_sync.rev): goes up with every change the flag sync merges',
      samples: input.flags.map((f) => ({ labels: { flag: f.key }, value: f.rev })),
    },
  ]);
}
