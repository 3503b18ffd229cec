// The canary gate: go / no-go from the guide's alert thresholds (§4), read from the operator views
// and the alert history. Every check reports its value so a no-go says exactly why.
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

/** The guide's §4 thresholds. */
export const THRESHOLDS = {
  queueP95AgeSec: 300,
  authLoginP95Ms: 600,
  burnRate: 2.0,
  explorationDeviation: 0.5,
  errorRate: 0.01,
} as const;

async function exists(db: pg.Client, relation: string): Promise<boolean> {
  const { rows } = await db.query('SELECT to_regclass($1) IS NOT NULL AS ok', [relation]);
  return rows[0].ok;
}

export async function evaluateGate(databaseUrl: string): Promise<GateResult> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const checks: GateCheck[] = [];

    const queue = await db.query(`SELECT p95_age_sec FROM public.vw_discovery_queue_health WHERE status = 'queued'`);
    const age = queue.rows[0] ? Number(queue.rows[0].p95_age_sec) : 0;
    checks.push({ name: 'discovery queue p95 age', ok: age <= THRESHOLDS.queueP95AgeSec, detail: `${age}s (limit ${THRESHOLDS.queueP95AgeSec}s)` });

    const slos = await db.query(`SELECT operation, requests, error_rate, p95_ms FROM public.vw_kernel_slos`);
    const login = slos.rows.find((r) => r.operation === 'auth.login');
    const loginP95 = login?.p95_ms == null ? null : Number(login.p95_ms);
    checks.push({
      name: 'auth.login p95', ok: loginP95 === null || loginP95 <= THRESHOLDS.authLoginP95Ms,
      detail: loginP95 === null ? 'no traffic in the last hour' : `${loginP95} ms (limit ${THRESHOLDS.authLoginP95Ms} ms)`,
    });
    const total = slos.rows.reduce((s, r) => s + Number(r.requests), 0);
    const errors = slos.rows.reduce((s, r) => s + Number(r.requests) * Number(r.error_rate ?? 0), 0);
    const errorRate = total > 0 ? errors / total : 0;
    checks.push({ name: '5xx rate', ok: errorRate <= THRESHOLDS.errorRate, detail: `${(errorRate * 100).toFixed(2)}% of ${total} requests (limit ${THRESHOLDS.errorRate * 100}%)` });

    const burn = await db.query(`SELECT operation, burn_rate FROM public.vw_slo_burnrate WHERE burn_rate > $1`, [THRESHOLDS.burnRate]);
    checks.push({
      name: 'SLO burn rate', ok: burn.rows.length === 0,
      detail: burn.rows.length === 0 ? `all ≤ ${THRESHOLDS.burnRate}` : burn.rows.map((r) => `${r.operation} ${r.burn_rate}`).join(', '),
    });

    const policy = await db.query(`SELECT policy, exploration_rate, epsilon FROM public.vw_policy_health WHERE epsilon IS NOT NULL AND epsilon > 0`);
    const off = policy.rows.filter((r) => Math.abs(Number(r.exploration_rate) - Number(r.epsilon)) > THRESHOLDS.explorationDeviation * Number(r.epsilon));
    checks.push({
      name: 'exploration vs epsilon', ok: off.length === 0,
      detail: off.length === 0 ? 'within ±50% of ε' : off.map((r) => `${r.policy}: ${r.exploration_rate} vs ε ${r.epsilon}`).join(', '),
    });

    if (await exists(db, 'public.alerts')) {
      const firing = await db.query(`SELECT * FROM public.alerts WHERE state = 'firing'`);
      checks.push({
        name: 'firing alerts', ok: firing.rows.length === 0,
        detail: firing.rows.length === 0 ? 'none' : firing.rows.map((r) => r.rule_name ?? r.rule ?? r.name ?? r.id).join(', '),
      });
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
