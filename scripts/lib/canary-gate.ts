// The canary gate: go / no-go from the guide's alert thresholds (§4), read from the operator views,
// the metric rollups and the alert history. When the canary and stable versions are known, it also
// compares the canary's own traffic (the `version:<id>` operation the Worker records for every
// request) with the stable version's, so a regression confined to the canary is not diluted by
// the 95 % of traffic the stable version serves. Every check reports its value: a no-go says why.
import pg from 'pg';
import { combine, compareVersions, DEFAULT_POLICY, type GatePolicy, type Verdict, type VersionCounts } from './canary-stats';

export interface GateCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface GateResult {
  go: boolean;
  /** go / wait (keep watching: not enough evidence yet, nothing wrong) / no-go. */
  verdict: Verdict;
  checks: GateCheck[];
}

export interface GateOptions {
  /** Version ids of a gradual deployment in progress. */
  canary?: string;
  stable?: string;
  /** Requests the canary must have served before a step may be promoted (default 500). */
  minCanaryRequests?: number;
  /** The statistics' knobs (canary-stats.ts); minCanaryRequests overrides policy.minRequests. */
  policy?: Partial<GatePolicy>;
  /** The step's last look: GO or NO-GO, never WAIT (default true: a one-off check decides). */
  last?: boolean;
  /** Compare the versions' traffic since then (the step's start); default: the last hour. */
  since?: Date;
}

/** The guide's §4 thresholds, plus how much worse than stable a canary may be. */
export const THRESHOLDS = {
  queueP95AgeSec: 300,
  authLoginP95Ms: 600,
  burnRate: 2.0,
  explorationDeviation: 0.5,
  errorRate: 0.01,
  canaryLatencyFactor: 1.5,
} as const;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Requests, 5xx and the latency histogram of one version (the `version:<id>` operation). */
async function versionTraffic(db: pg.Client, version: string, since: Date) {
  const { rows } = await db.query(
    `SELECT coalesce(sum(requests), 0)::float8 AS requests, coalesce(sum(errors), 0)::float8 AS errors,
            coalesce(public.histogram_sum(buckets), '{}') AS buckets
     FROM public.request_metrics_minute WHERE operation = $1 AND minute >= date_trunc('minute', $2::timestamptz)`,
    [`version:${version}`, since],
  );
  const r = rows[0] as { requests: number; errors: number; buckets: (string | number)[] };
  return { requests: r.requests, errors: r.errors, buckets: r.buckets.map(Number) };
}

/** Both versions' counts, "slow" = above the bucket holding the stable version's p95. */
function slowCounts(c: { buckets: number[] }, s: { buckets: number[] }): { canary: number; stable: number } {
  const total = s.buckets.reduce((a, b) => a + b, 0);
  let cum = 0;
  let p95 = s.buckets.length;
  for (let i = 0; i < s.buckets.length; i++) {
    cum += s.buckets[i]!;
    if (total > 0 && cum >= 0.95 * total) {
      p95 = i;
      break;
    }
  }
  const above = (b: number[]) => b.slice(p95 + 1).reduce((a, x) => a + x, 0);
  return { canary: above(c.buckets), stable: above(s.buckets) };
}

export async function evaluateGate(databaseUrl: string, opts: GateOptions = {}): Promise<GateResult> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const checks: GateCheck[] = [];

    const queue = await db.query(`SELECT p95_age_sec FROM public.vw_discovery_queue_health WHERE status = 'queued'`);
    const age = queue.rows[0] ? Number(queue.rows[0].p95_age_sec) : 0;
    checks.push({
      name: 'discovery queue p95 age',
      ok: age <= THRESHOLDS.queueP95AgeSec,
      detail: `${age}s (limit ${THRESHOLDS.queueP95AgeSec}s)`,
    });

    const login = (await db.query(`SELECT p95_ms::float8 AS p95 FROM public.vw_kernel_slos WHERE operation = 'auth.login'`)).rows[0];
    checks.push({
      name: 'auth.login p95',
      ok: !login || login.p95 <= THRESHOLDS.authLoginP95Ms,
      detail: login ? `${Math.round(login.p95)} ms (limit ${THRESHOLDS.authLoginP95Ms} ms)` : 'no traffic in the last hour',
    });

    // HTTP routes only (named "METHOD /path"): auth.login and version:<id> count requests twice.
    const http = (
      await db.query(
        `SELECT coalesce(sum(requests), 0)::float8 AS requests, coalesce(sum(errors), 0)::float8 AS errors
       FROM public.vw_kernel_slos WHERE operation ~ '^[A-Z]+ /'`,
      )
    ).rows[0];
    const errorRate = http.requests > 0 ? http.errors / http.requests : 0;
    checks.push({
      name: '5xx rate',
      ok: errorRate <= THRESHOLDS.errorRate,
      detail: `${pct(errorRate)} of ${http.requests} requests in the last hour (limit ${pct(THRESHOLDS.errorRate)})`,
    });

    const burn = await db.query(`SELECT operation, burn_rate FROM public.vw_slo_burnrate WHERE burn_rate > $1`, [THRESHOLDS.burnRate]);
    checks.push({
      name: 'SLO burn rate',
      ok: burn.rows.length === 0,
      detail: burn.rows.length === 0 ? `all ≤ ${THRESHOLDS.burnRate}` : burn.rows.map((r) => `${r.operation} ${r.burn_rate}`).join(', '),
    });

    // Exploration of the last sampled minute vs the effective epsilon (as the alert rule reads it).
    const exploration = await db.query(
      `SELECT r.subject, r.value AS rate, e.value AS epsilon
       FROM public.gauge_metrics_minute r
       JOIN public.gauge_metrics_minute e ON e.metric = 'policy.epsilon' AND e.subject = r.subject AND e.minute = r.minute
       WHERE r.metric = 'policy.exploration_rate' AND e.value > 0
         AND r.minute = (SELECT max(minute) FROM public.gauge_metrics_minute WHERE metric = 'policy.epsilon' AND minute > now() - interval '10 minutes')`,
    );
    const off = exploration.rows.filter((r) => Math.abs(r.rate - r.epsilon) > THRESHOLDS.explorationDeviation * r.epsilon);
    checks.push({
      name: 'exploration vs epsilon',
      ok: off.length === 0,
      detail:
        exploration.rows.length === 0
          ? 'no recent sample'
          : off.length === 0
            ? 'within ±50% of ε'
            : off.map((r) => `${r.subject}: ${r.rate} vs ε ${r.epsilon}`).join(', '),
    });

    const firing = await db.query(`SELECT rule_id, subject FROM public.alerts WHERE state = 'firing'`);
    checks.push({
      name: 'firing alerts',
      ok: firing.rows.length === 0,
      detail: firing.rows.length === 0 ? 'none' : firing.rows.map((r) => `${r.rule_id}(${r.subject})`).join(', '),
    });

    // The canary judged against the stable version (canary-stats.ts): NO-GO on evidence of harm at
    // any look, GO only with enough evidence that it is no worse, else WAIT (or NO-GO at the last).
    let verdict: Verdict = checks.every((c) => c.ok) ? 'go' : 'no-go';
    if (opts.canary) {
      const policy: GatePolicy = {
        ...DEFAULT_POLICY,
        ...opts.policy,
        minRequests: opts.minCanaryRequests ?? opts.policy?.minRequests ?? DEFAULT_POLICY.minRequests,
      };
      const last = opts.last ?? true;
      const since = opts.since ?? new Date(Date.now() - 3600_000);
      if (!opts.stable) {
        checks.push({ name: 'canary vs stable', ok: false, detail: 'no stable version to compare with: NO-GO' });
        verdict = 'no-go';
      } else {
        const [c, st] = await Promise.all([versionTraffic(db, opts.canary, since), versionTraffic(db, opts.stable, since)]);
        const slow = slowCounts(c, st);
        const canary: VersionCounts = { requests: c.requests, errors: c.errors, slow: slow.canary };
        const stable: VersionCounts = { requests: st.requests, errors: st.errors, slow: slow.stable };
        const compared = compareVersions(canary, stable, policy, last);
        for (const x of compared)
          checks.push({ name: x.name, ok: x.verdict !== 'no-go', detail: `${x.verdict.toUpperCase()}: ${x.detail}` });
        verdict = combine([verdict, ...compared.map((x) => x.verdict)]);
      }
    }
    return { go: verdict === 'go', verdict, checks };
  } finally {
    await db.end();
  }
}

export function formatGate(result: GateResult): string {
  const lines = result.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  lines.push(result.verdict === 'wait' ? 'WAIT (not enough evidence yet; nothing wrong)' : result.go ? 'GO' : 'NO-GO');
  return lines.join('\n');
}
