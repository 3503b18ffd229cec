// GET /admin/policy/ope: service key only, bounded inputs (targets and clip are a fixed set), and
// the per-day OPE rollups plus the unrolled tail equal the pure estimators' sums
// (src/ranker/ope.ts) on the same logged data — before any rollup (tail only), after one (rollups
// only), and with reward changes and new decisions on top of rolled ones (both). A private
// database, so the rollup's watermark and the tail are exactly what this file wrote.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { OPE_STATEMENT_TIMEOUT_MS, readOpeWindow } from '../../src/learning/queries-ope';
import { runLearningRollup } from '../../src/learning/rollup';
import { estimatesFromSums, OPE_CLIP, OPE_TARGETS, type OpeSums } from '../../src/ranker';
import {
  loggedDecisions as decisions,
  expectedSums as expected,
  expectSums,
  insertDecisionsSql,
  type LoggedDecision as Logged,
  OPE_POLICY as POLICY,
  ROLLED_SUMS_SQL,
  rolledSums,
} from '../support/ope-fixture';
import { useFreshWorkerDatabase } from './fresh-db';
import { BASE, call, envelope, serviceHeaders, userHeaders } from './support';

describe('GET /admin/policy/ope: access and parameters', () => {
  it('401 without credentials, 403 for a user token, 400 for bad parameters', async () => {
    expect((await call('/admin/policy/ope')).status).toBe(401);
    const asUser = await call('/admin/policy/ope', { headers: await userHeaders(crypto.randomUUID()) });
    expect(asUser.status).toBe(403);
    for (const q of ['days=0', 'days=91', 'epsilons=2', 'epsilons=0.1,abc', 'epsilons=0.3', 'clip=0', 'clip=5', 'surface=a%20b']) {
      const res = await call(`/admin/policy/ope?${q}`, { headers: serviceHeaders() });
      expect(res.status, q).toBe(400);
      expect(envelope(res.json).code).toBe('invalid_request');
    }
    // The rollups serve a fixed set: the 400 says which.
    const clip = await call('/admin/policy/ope?clip=50', { headers: serviceHeaders() });
    expect(envelope(clip.json).message).toContain(`clip is fixed at ${OPE_CLIP}`);
    const eps = await call('/admin/policy/ope?epsilons=0.3', { headers: serviceHeaders() });
    expect(envelope(eps.json).message).toContain('epsilons must be among 0, 0.05, 0.1, 0.2, 0.5, 1');
  });
});

describe('OPE from the per-day rollups plus the unrolled tail', () => {
  const fresh = useFreshWorkerDatabase();
  const surface = 'ope-test';
  const all: Logged[] = [];

  async function insert(batch: Logged[]) {
    const [text, params] = insertDecisionsSql(batch, surface);
    await fresh.db.query(text, params);
    all.push(...batch);
  }

  const read = (days: number) =>
    readOpeWindow(
      fresh.db,
      { policy: POLICY, days, surface },
      OPE_TARGETS.map((t) => t.name),
    );

  const rolledOnly = async (): Promise<Map<string, OpeSums>> => rolledSums(await fresh.db.query(ROLLED_SUMS_SQL, [POLICY, surface]));

  const tailRows = async () =>
    (
      await fresh.db.query(
        `SELECT c.* FROM public.learning_rollup_state s, LATERAL public.learning_ope_changes(s.watermark, NULL, $1, $2, $3) c WHERE s.name = 'learning'`,
        [OPE_CLIP, POLICY, surface],
      )
    ).length;

  it('before any rollup: the tail alone equals the pure sums, per target, in the window', async () => {
    await insert([...decisions(300, 0), ...decisions(40, 10)]);
    expect((await rolledOnly()).size).toBe(0);
    for (const days of [7, 30]) {
      const { sums } = await read(days);
      const want = expected(all, days);
      for (const t of OPE_TARGETS) expectSums(sums.get(t.name)!, want.get(t.name)!, `days=${days} ${t.name}`);
    }
    expect(expected(all, 7).get('logged')!.decisions).toBe(300);
  });

  it('after the rollup: learning_ope_daily alone holds the same sums and the tail is empty', async () => {
    const r = await runLearningRollup(fresh.db);
    expect(r.ope_rows).toBe(2 * OPE_TARGETS.length); // two days × the targets
    expect(await tailRows()).toBe(0);
    const rolled = await rolledOnly();
    const want = expected(all, 30);
    for (const t of OPE_TARGETS) expectSums(rolled.get(t.name)!, want.get(t.name)!, `rolled ${t.name}`);
    const { sums } = await read(30);
    for (const t of OPE_TARGETS) expectSums(sums.get(t.name)!, want.get(t.name)!, `read ${t.name}`);
  });

  it('reward changes on rolled decisions and new decisions: rollups + tail, then rolled again', async () => {
    // New rewards, changed rewards and a withdrawn one, on decisions already rolled up (today and 10 days ago).
    const changes: { d: Logged; i: number; reward: number | null }[] = [];
    for (const d of all.slice(0, 120)) {
      const i = d.rewards.indexOf(null);
      if (i >= 0) changes.push({ d, i, reward: 1 });
    }
    for (const d of [...all.slice(120, 200), ...all.slice(300, 320)]) {
      const i = d.rewards.indexOf(1);
      if (i >= 0) changes.push({ d, i, reward: 0.5 });
    }
    const withdrawn = all.slice(200, 300).find((d) => d.rewards.includes(1))!;
    changes.push({ d: withdrawn, i: withdrawn.rewards.indexOf(1), reward: null });
    for (const c of changes) {
      await fresh.db.query('UPDATE public.learning_events SET reward = $1 WHERE decision_id = $2 AND candidate_id = $3', [
        c.reward,
        c.d.id,
        c.d.items[c.i]!.candidate_id,
      ]);
      c.d.rewards[c.i] = c.reward;
    }
    await insert(decisions(60, 0));
    expect(await tailRows()).toBeGreaterThan(0);

    const want = expected(all, 30);
    const { sums, logged } = await read(30);
    for (const t of OPE_TARGETS) expectSums(sums.get(t.name)!, want.get(t.name)!, `rollups+tail ${t.name}`);
    const impressions = all.length * 4;
    expect(logged).toMatchObject({ decisions: all.length, impressions, reward_lo: 0, reward_hi: 1 });
    expect(logged.rewarded).toBe(all.reduce((s, d) => s + d.rewards.filter((r) => r !== null).length, 0));

    // The route answers what the pure estimators say on the same data.
    const res = await fresh.fetch(`/admin/policy/ope?surface=${surface}&days=30`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ policy: POLICY, surface, days: 30, clip: OPE_CLIP, reward_range: [0, 1] });
    expect(res.json.logged).toMatchObject({ decisions: all.length, impressions, without_propensity: 0 });
    expect(res.json.targets.map((t: { name: string }) => t.name)).toEqual(OPE_TARGETS.map((t) => t.name));
    for (const t of OPE_TARGETS) {
      const e = estimatesFromSums(want.get(t.name)!, { rewardRange: [0, 1] });
      const got = res.json.targets.find((x: { name: string }) => x.name === t.name);
      expect(got.status, t.name).toBe(e.status);
      expect(got.reasons, t.name).toEqual(e.reasons);
      expect(got.decisions).toBe(all.length);
      expect(got.clipped).toBe(e.clipped);
      for (const f of ['ess', 'clipped_mass_share', 'mean_weight'] as const) expect(got[f], `${t.name} ${f}`).toBeCloseTo(e[f]!, 9);
      for (const k of ['ips', 'snips', 'dr'] as const)
        for (const f of ['estimate', 'se', 'ci_low', 'ci_high'] as const) {
          if (e[k][f] === null) expect(got[k][f], `${t.name} ${k}.${f}`).toBeNull();
          else expect(got[k][f], `${t.name} ${k}.${f}`).toBeCloseTo(e[k][f]!, 9);
        }
    }
    // A 0.3-greedy logger supports the logging policy and greedy; uniform, far from it, is refused.
    const status = (name: string) => res.json.targets.find((x: { name: string }) => x.name === name).status;
    expect(status('logged')).toBe('ok');
    expect(status('greedy')).toBe('ok');
    expect(status('uniform')).toBe('insufficient_support');
    // The last 7 days leave out the 40 decisions of 10 days ago.
    const week = await fresh.fetch(`/admin/policy/ope?surface=${surface}&epsilons=0.2`);
    expect(week.json.targets.map((t: { name: string }) => t.name)).toEqual(['greedy', 'logged', 'epsilon=0.2', 'uniform']);
    expect(week.json.targets[0].decisions).toBe(all.length - 40);

    await runLearningRollup(fresh.db);
    expect(await tailRows()).toBe(0);
    expect((await fresh.db.query('SELECT count(*)::int AS n FROM public.learning_ope_reward_deltas'))[0].n).toBe(0);
    const rolled = await rolledOnly();
    for (const t of OPE_TARGETS) expectSums(rolled.get(t.name)!, want.get(t.name)!, `rolled again ${t.name}`);
  });

  it('a configured reward range widens the range the clipped mass is bounded with', async () => {
    await fresh.db.query(`INSERT INTO public.reward_ranges (surface, min_reward, max_reward) VALUES ($1, -1, 2)`, [surface]);
    const res = await fresh.fetch(`/admin/policy/ope?surface=${surface}&days=30`);
    expect(res.json.reward_range).toEqual([-1, 2]);
    const want = estimatesFromSums(expected(all, 30).get('epsilon=0.5')!, { rewardRange: [-1, 2] });
    const got = res.json.targets.find((x: { name: string }) => x.name === 'epsilon=0.5');
    expect(got.status).toBe(want.status);
    if (want.status === 'ok') expect(got.ips.ci_high).toBeCloseTo(want.ips.ci_high!, 9);
  });

  it('answers 503 with Retry-After when the read exceeds its statement timeout', async () => {
    const client = await fresh.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE public.learning_ope_daily IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}/admin/policy/ope?surface=${surface}`, { headers: serviceHeaders() }),
        fresh.env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      const elapsed = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('timeout');
      expect(body.error.message).toContain(`${OPE_STATEMENT_TIMEOUT_MS} ms statement timeout`);
      expect(elapsed).toBeGreaterThanOrEqual(OPE_STATEMENT_TIMEOUT_MS);
      expect(elapsed).toBeLessThan(OPE_STATEMENT_TIMEOUT_MS + 10_000);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
