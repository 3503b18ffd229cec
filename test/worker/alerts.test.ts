// Alert rules driven by real traffic with injected latency (the test-only hook), evaluated through
// the admin API at chosen times: pending → firing after `for`, resolved when the window has moved
// on; a breach that clears early is cancelled (no page); silences, disabled rules, broken metrics.
// Every test uses its own operation and rules (evaluated with rule_ids), so the shared database's
// seeded rules and other traffic play no part.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, faultHeaders, rollupTotals } from './slo-support';
import { call, serviceHeaders, testDb } from './support';

const db = testDb();
const rules: string[] = [];
afterAll(async () => {
  await db.query('DELETE FROM public.alert_rules WHERE id = ANY($1)', [rules]);
  await db.end();
});

async function newRule(r: { metric: string; subject: string; threshold: number; forSeconds: number; minSamples?: number }) {
  const id = `t_${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`;
  rules.push(id);
  await db.query(
    `INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity, action)
     VALUES ($1, 'test rule', $2, $3, '>', $4, $5, $6, 'ticket', 'notify')`,
    [id, r.metric, r.subject, r.threshold, r.forSeconds, r.minSamples ?? 0],
  );
  return id;
}

async function evaluate(ruleIds: string[], at: number) {
  const res = await call('/admin/alerts/evaluate', {
    method: 'POST',
    headers: serviceHeaders(),
    json: { rule_ids: ruleIds, at: new Date(at).toISOString() },
  });
  expect(res.status).toBe(200);
  return res.json as {
    transitions: { rule_id: string; from: string | null; to: string; value: number; silenced: boolean }[];
    errors: { rule_id: string }[];
  };
}

async function episodes(ruleId: string) {
  return db.query<{ state: string; pending_since: Date; fired_at: Date | null; resolved_at: Date | null; last_value: number }>(
    'SELECT state, pending_since, fired_at, resolved_at, last_value FROM public.alerts WHERE rule_id = $1 ORDER BY id',
    [ruleId],
  );
}

/** 12 requests of `op` with `delayMs` of injected latency, then wait until they are in the rollups. */
async function slowTraffic(op: string, delayMs: number) {
  const res = await Promise.all(Array.from({ length: 12 }, () => call('/alert-traffic', { headers: faultHeaders({ op, delayMs }) })));
  expect(res.every((r) => r.status === 404)).toBe(true);
  await eventually(async () => (await rollupTotals(db, op)).requests === 12, 20_000, `12 requests of ${op}`);
}

// Traffic shared by the lifecycle tests (each test has its own rule over it). The injected delay
// is a lower bound of the measured latency, so "p95 > 250 ms" holds however loaded the machine is.
const slowOp = `test.alert.slow.${crypto.randomUUID()}`;
beforeAll(async () => {
  await slowTraffic(slowOp, 400);
}, 30_000);

describe('alert lifecycle', () => {
  it('a p95 latency rule goes pending, fires after `for`, and resolves once the hour has passed', async () => {
    const op = slowOp;
    const rule = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 250, forSeconds: 120, minSamples: 10 });
    const t0 = Date.now();

    const first = await evaluate([rule], t0);
    expect(first.transitions).toMatchObject([{ rule_id: rule, from: null, to: 'pending' }]);
    expect(first.transitions[0]!.value).toBeGreaterThan(250);
    expect((await evaluate([rule], t0 + 60_000)).transitions).toEqual([]); // still pending: no flapping
    expect((await evaluate([rule], t0 + 120_000)).transitions).toMatchObject([{ from: 'pending', to: 'firing' }]);

    const open = await call('/admin/alerts?state=firing', { headers: serviceHeaders() });
    expect(open.json.alerts.some((a: { rule_id: string }) => a.rule_id === rule)).toBe(true);
    const active = await db.query('SELECT state FROM public.vw_alerts_active WHERE rule_id = $1', [rule]);
    expect(active).toEqual([{ state: 'firing' }]);

    // Issue 20: resolving needs a measured clear value held for the rule's clear_for (300 s by
    // default), no longer "the hour has passed" (no data is not clear: see the next test). The
    // same traffic becomes clear by raising the threshold above its p95.
    await db.query('UPDATE public.alert_rules SET threshold = 60000 WHERE id = $1', [rule]);
    expect((await evaluate([rule], t0 + 180_000)).transitions).toEqual([]); // clear for 0 s of 300
    expect((await evaluate([rule], t0 + 420_000)).transitions).toEqual([]); // 240 s of 300
    expect((await evaluate([rule], t0 + 480_000)).transitions).toMatchObject([{ from: 'firing', to: 'resolved' }]);
    const [ep] = await episodes(rule);
    expect(ep!.state).toBe('resolved');
    expect(ep!.fired_at!.getTime() - ep!.pending_since.getTime()).toBe(120_000);
    expect(ep!.resolved_at!.getTime() - t0).toBe(480_000);
  });

  it('a firing alert whose metric has no data (the hour has passed) stays firing', async () => {
    const rule = await newRule({ metric: 'kernel.p95_ms', subject: slowOp, threshold: 250, forSeconds: 0, minSamples: 10 });
    const t0 = Date.now();
    expect((await evaluate([rule], t0)).transitions).toMatchObject([{ from: null, to: 'firing' }]);
    expect((await evaluate([rule], t0 + 3_700_000)).transitions).toEqual([]);
    expect((await evaluate([rule], t0 + 7_300_000)).transitions).toEqual([]);
    expect((await episodes(rule)).map((e) => e.state)).toEqual(['firing']);
  });

  it('the same traffic below the threshold, or with too few samples, opens nothing', async () => {
    const op = slowOp;
    const rule = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 60_000, forSeconds: 0, minSamples: 10 });
    const few = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 250, forSeconds: 0, minSamples: 13 });
    expect((await evaluate([few], Date.now())).transitions).toEqual([]);
    expect((await evaluate([rule], Date.now())).transitions).toEqual([]);
    expect(await episodes(rule)).toEqual([]);
  });

  it('a breach that clears before `for` is cancelled, never fired', async () => {
    const op = slowOp;
    const rule = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 250, forSeconds: 300, minSamples: 10 });
    const t0 = Date.now();
    await evaluate([rule], t0);
    expect((await evaluate([rule], t0 + 3_700_000)).transitions).toMatchObject([{ from: 'pending', to: 'cancelled' }]);
    const [ep] = await episodes(rule);
    expect(ep).toMatchObject({ state: 'cancelled', fired_at: null });
  });

  it('a silenced rule still tracks state but marks its transitions silenced; the change is in the ledger', async () => {
    const op = slowOp;
    const rule = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 250, forSeconds: 0, minSamples: 10 });
    const patch = await call(`/admin/alert-rules/${rule}`, {
      method: 'PATCH',
      headers: serviceHeaders(),
      json: { silence_minutes: 90, reason: 'maintenance window' },
    });
    expect(patch.status).toBe(200);
    expect(new Date(patch.json.rule.silenced_until).getTime()).toBeGreaterThan(Date.now() + 80 * 60_000);
    const [ledger] = await db.query<{ actor: string; reason: string }>(
      `SELECT actor, reason FROM public.ai_action_ledger WHERE action = 'alert_rule.update' AND target = $1`,
      [rule],
    );
    expect(ledger).toEqual({ actor: 'api:service', reason: 'maintenance window' });
    const r = await evaluate([rule], Date.now());
    expect(r.transitions).toMatchObject([{ from: null, to: 'firing', silenced: true }]);
  });

  it('disabling a rule closes its open alert at the next evaluation', async () => {
    const op = slowOp;
    const rule = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 250, forSeconds: 0, minSamples: 10 });
    await evaluate([rule], Date.now());
    expect((await episodes(rule))[0]!.state).toBe('firing');
    expect(
      (await call(`/admin/alert-rules/${rule}`, { method: 'PATCH', headers: serviceHeaders(), json: { enabled: false } })).status,
    ).toBe(200);
    const r = await evaluate([rule], Date.now());
    expect(r.transitions).toMatchObject([{ rule_id: rule, from: 'firing', to: 'resolved' }]);
  });

  it('a rule whose metric cannot be measured is reported, and other rules are still evaluated', async () => {
    const op = slowOp;
    const good = await newRule({ metric: 'kernel.p95_ms', subject: op, threshold: 250, forSeconds: 0, minSamples: 10 });
    const bad = await newRule({ metric: 'no.such.metric', subject: op, threshold: 1, forSeconds: 0 });
    const r = await evaluate([good, bad], Date.now());
    expect(r.errors).toMatchObject([{ rule_id: bad }]);
    expect(r.transitions).toMatchObject([{ rule_id: good, to: 'firing' }]);
  });
});

describe('alert admin API', () => {
  it("lists the seeded rules: the guide's five thresholds (plus the SRE burn pair)", async () => {
    const res = await call('/admin/alert-rules', { headers: serviceHeaders() });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.json.rules.map((r: { id: string }) => [r.id, r]));
    expect(byId.discovery_queue_p95_age).toMatchObject({ metric: 'discovery_queue.p95_age_sec', threshold: 300 });
    expect(byId.auth_login_p95).toMatchObject({ metric: 'kernel.p95_ms', subject: 'auth.login', threshold: 600 });
    expect(byId.slo_burn_rate).toMatchObject({ metric: 'slo.burn_rate', threshold: 2, action: 'safe_mode' });
    expect(byId.exploration_off_epsilon).toMatchObject({ metric: 'policy.exploration_deviation', threshold: 0.5 });
    expect(byId.http_5xx_rate).toMatchObject({ metric: 'http.5xx_rate', threshold: 0.01 });
  });

  it('rejects unknown rules, bad patches and missing credentials with the error envelope', async () => {
    expect(
      (await call('/admin/alert-rules/no_such_rule', { method: 'PATCH', headers: serviceHeaders(), json: { threshold: 1 } })).status,
    ).toBe(404);
    const bad = await call('/admin/alert-rules/slo_burn_rate', { method: 'PATCH', headers: serviceHeaders(), json: { action: 'reboot' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_request');
    expect((await call('/admin/alert-rules/slo_burn_rate', { method: 'PATCH', headers: serviceHeaders(), json: {} })).status).toBe(400);
    expect((await call('/admin/alerts')).status).toBe(401);
    expect((await call('/admin/slos')).status).toBe(401);
    const slos = await call('/admin/slos', { headers: serviceHeaders() });
    expect(slos.status).toBe(200);
    expect(Array.isArray(slos.json.kernel_slos) && Array.isArray(slos.json.burn_rates)).toBe(true);
  });
});

describe('exploration vs epsilon', () => {
  it('fires when the last 15 minutes explore more than 50 % off the effective epsilon; not judged when epsilon is 0', async () => {
    const policy = `test_policy_${crypto.randomUUID().slice(0, 8)}`;
    const calm = `test_policy_${crypto.randomUUID().slice(0, 8)}`;
    const safe = `test_policy_${crypto.randomUUID().slice(0, 8)}`;
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 20 * 86_400_000); // no live window sees it
    await db.query(
      `INSERT INTO public.gauge_metrics_minute (metric, subject, minute, value, samples) VALUES
         ('policy.exploration_rate', $1, $4, 0.2, 800), ('policy.epsilon', $1, $4, 0.08, 0),
         ('policy.exploration_rate', $2, $4, 0.09, 800), ('policy.epsilon', $2, $4, 0.08, 0),
         ('policy.exploration_rate', $3, $4, 0, 800), ('policy.epsilon', $3, $4, 0, 0)`,
      [policy, calm, safe, minute],
    );
    const rules = await Promise.all(
      [policy, calm, safe].map((p) =>
        newRule({ metric: 'policy.exploration_deviation', subject: p, threshold: 0.5, forSeconds: 0, minSamples: 500 }),
      ),
    );
    const r = await evaluate(rules, minute.getTime() + 30_000);
    expect(r.transitions).toHaveLength(1);
    expect(r.transitions[0]).toMatchObject({ rule_id: rules[0], to: 'firing' });
    expect(r.transitions[0]!.value).toBeCloseTo(1.5, 9); // |0.2 − 0.08| / 0.08
  });
});
