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
import {
  addDecision,
  emptySums,
  epsilonGreedySlate,
  estimatesFromSums,
  OPE_CLIP,
  OPE_TARGETS,
  type OpeItem,
  type OpeSums,
  rngForDecision,
} from '../../src/ranker';
import { useFreshWorkerDatabase } from './fresh-db';
import { BASE, call, envelope, serviceHeaders, userHeaders } from './support';

const POLICY = 'epsilon_greedy_v1';

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

interface Logged {
  id: string;
  daysAgo: number;
  items: (OpeItem & { candidate_id: string; explored: boolean; p_prefix: number; greedy_prefix: boolean })[];
  rewards: (number | null)[];
}

const cands = Array.from({ length: 8 }, (_, i) => ({ id: `k${i}`, score: (8 - i) / 10 }));
const rate = (i: number) => [0.3, 0.1, 0.5, 0.2, 0.05, 0.4, 0.1, 0.25][i]!;

/** `n` decisions of a 0.3-greedy logger over 8 candidates, slates of 4; a hash decides rewards. */
function decisions(n: number, daysAgo: number): Logged[] {
  return Array.from({ length: n }, () => {
    const id = crypto.randomUUID();
    const rng = rngForDecision(id);
    const slate = epsilonGreedySlate(cands, 4, 0.3, rng);
    const items = slate.map((it) => ({
      candidate_id: it.candidate_id,
      explored: it.explored,
      position: it.position,
      p_exp: it.p_exp,
      is_greedy: it.ope!.is_greedy,
      n_remaining: it.ope!.n_remaining,
      p_prefix: it.ope!.p_prefix,
      greedy_prefix: it.ope!.greedy_prefix,
      reward: 0,
      q_hat: it.score,
      q_greedy: it.ope!.q_greedy,
      q_mean: it.ope!.q_mean,
    }));
    return { id, daysAgo, items, rewards: items.map((it) => (rng() < rate(Number(it.candidate_id.slice(1))) ? 1 : null)) };
  });
}

/** The pure estimators' sums over the decisions in the window, with the rewards as they are now. */
function expected(all: Logged[], days: number): Map<string, OpeSums> {
  const out = new Map(OPE_TARGETS.map((t) => [t.name, emptySums()]));
  for (const d of all.filter((x) => x.daysAgo < days)) {
    const items = d.items.map((it, i) => ({ ...it, reward: d.rewards[i] ?? 0 }));
    for (const t of OPE_TARGETS) addDecision(out.get(t.name)!, items, t);
  }
  return out;
}

function expectSums(got: OpeSums, want: OpeSums, label: string) {
  for (const k of Object.keys(want) as (keyof OpeSums)[]) {
    const w = want[k];
    if (w === null) expect(got[k], `${label} ${k}`).toBeNull();
    else expect(Math.abs((got[k] as number) - w), `${label} ${k}: ${got[k]} vs ${w}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w)));
  }
}

describe('OPE from the per-day rollups plus the unrolled tail', () => {
  const fresh = useFreshWorkerDatabase();
  const surface = 'ope-test';
  const all: Logged[] = [];

  async function insert(batch: Logged[]) {
    const rows = batch.flatMap((d) =>
      d.items.map((it, i) => ({ ...it, decision_id: d.id, days_ago: d.daysAgo, reward: d.rewards[i], score: it.q_hat })),
    );
    await fresh.db.query(
      `INSERT INTO public.learning_events (ts, surface, candidate_id, policy, p_exp, score, explored, reward, decision_id, "position",
                                           n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
       SELECT now() - make_interval(days => r.days_ago), $2, r.candidate_id, $3, r.p_exp, r.score, r.explored, r.reward, r.decision_id,
              r."position", r.n_remaining, r.is_greedy, r.p_prefix, r.greedy_prefix, r.q_greedy, r.q_mean
       FROM json_to_recordset($1::json) AS r(days_ago int, candidate_id text, p_exp float8, score float8, explored boolean, reward float8,
            decision_id uuid, "position" int, n_remaining int, is_greedy boolean, p_prefix float8, greedy_prefix boolean, q_greedy float8, q_mean float8)`,
      [JSON.stringify(rows), surface, POLICY],
    );
    all.push(...batch);
  }

  const read = (days: number) =>
    readOpeWindow(
      fresh.db,
      { policy: POLICY, days, surface },
      OPE_TARGETS.map((t) => t.name),
    );

  async function rolledOnly(): Promise<Map<string, OpeSums>> {
    const rows = await fresh.db.query<Record<string, number | string | null>>(
      `SELECT target, sum(decisions)::float8 AS decisions, sum(items)::float8 AS items, sum(x) AS x, sum(x2) AS x2, sum(xn) AS xn,
              sum(n2) AS n2, sum(w) AS w, sum(w2) AS w2, sum(xw) AS xw, sum(wn) AS wn, sum(y) AS y, sum(y2) AS y2, sum(yn) AS yn,
              sum(wp) AS wp, sum(rho) AS rho, sum(rho_prev) AS rho_prev, sum(clipped)::float8 AS clipped,
              min(r_min) AS r_min, max(r_max) AS r_max, min(q_min) AS q_min, max(q_max) AS q_max
       FROM public.learning_ope_daily WHERE policy = $1 AND surface = $2 GROUP BY target`,
      [POLICY, surface],
    );
    return new Map(rows.map(({ target, ...s }) => [target as string, s as unknown as OpeSums]));
  }

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
