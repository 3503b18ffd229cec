// The canary gate: go / no-go from the guide's alert thresholds (§4), read from the operator views,
// the metric rollups and the alert history. When the canary and stable versions are known, it also
// compares the canary's own traffic (the `version:<id>` operation the Worker records for every
// request) with the stable version's, so a regression confined to the canary is not diluted by
// the 95 % of traffic the stable version serves. Every check reports its value: a no-go says why.
import pg from 'pg';

export interface GateCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface GateResult {
  go: boolean;
  checks: GateCheck[];
}

export interface GateOptions {
  /** Version ids of a gradual deployment in progress. */
  canary?: string;
  stable?: string;
  /** Requests the canary must have served before its own numbers are judged. */
  minCanaryRequests?: number;
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

async function versionRow(db: pg.Client, version: string) {
  const { rows } = await db.query(
    `SELECT requests::float8 AS requests, error_rate::float8 AS error_rate, p95_ms::float8 AS p95_ms
     FROM public.vw_kernel_slos WHERE operation = $1`,
    [`version:${version}`],
  );
  return rows[0] as { requests: number; error_rate: number | null; p95_ms: number | null } | undefined;
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

    if (opts.canary) {
      const canary = await versionRow(db, opts.canary);
      const stable = opts.stable ? await versionRow(db, opts.stable) : undefined;
      const min = opts.minCanaryRequests ?? 1;
      if (!canary || canary.requests < min) {
        checks.push({
          name: 'canary traffic',
          ok: min <= 0,
          detail: `${canary?.requests ?? 0} requests served by ${opts.canary} (need ${min})`,
        });
      } else {
        const cErr = canary.error_rate ?? 0;
        const sErr = stable?.error_rate ?? 0;
        checks.push({
          name: 'canary 5xx rate',
          ok: cErr <= THRESHOLDS.errorRate,
          detail: `${pct(cErr)} of ${canary.requests} (stable ${stable ? pct(sErr) : 'n/a'}; limit ${pct(THRESHOLDS.errorRate)})`,
        });
        if (stable?.p95_ms && canary.p95_ms) {
          const factor = canary.p95_ms / stable.p95_ms;
          checks.push({
            name: 'canary p95 vs stable',
            ok: factor <= THRESHOLDS.canaryLatencyFactor,
            detail: `${Math.round(canary.p95_ms)} ms vs ${Math.round(stable.p95_ms)} ms (${factor.toFixed(2)}×, limit ${THRESHOLDS.canaryLatencyFactor}×)`,
          });
        }
      }
    }
    return { go: checks.every((c) => c.ok), checks };
  } finally {
    await db.end();
  }
}

export function formatGate(result: GateResult): string {
  const lines = result.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  lines.push(result.go ? 'GO' : 'NO-GO');
  return lines.join('\n');
}
