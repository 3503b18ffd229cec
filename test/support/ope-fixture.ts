// Logged decisions for the OPE tests (worker and integration): the real epsilon-greedy policy over
// 8 candidates, the SQL that inserts them into learning_events as the consumer would, and the pure
// estimators' sums (src/ranker/ope.ts) over them — what the SQL rollups must equal.
import { expect } from 'vitest';
import { addDecision, emptySums, epsilonGreedySlate, OPE_TARGETS, type OpeItem, type OpeSums, rngForDecision } from '../../src/ranker';

export const OPE_POLICY = 'epsilon_greedy_v1';

export interface LoggedDecision {
  id: string;
  daysAgo: number;
  items: (OpeItem & { candidate_id: string; explored: boolean; p_prefix: number; greedy_prefix: boolean })[];
  /** Current reward per item (null: none reported); tests change these alongside the database. */
  rewards: (number | null)[];
}

const cands = Array.from({ length: 8 }, (_, i) => ({ id: `k${i}`, score: (8 - i) / 10 }));
const rate = (i: number) => [0.3, 0.1, 0.5, 0.2, 0.05, 0.4, 0.1, 0.25][i]!;

/**
 * Decision ids from a counter, not crypto.randomUUID(): each decision's random stream is seeded by
 * its id, so the data (and what the tests assert about it: which targets have enough support) is the
 * same on every run. With random ids one CI run in many drew a set where greedy lacked support.
 */
let nextDecision = 0;
const decisionId = () => `00000000-0000-4000-8000-${(++nextDecision).toString(16).padStart(12, '0')}`;

/** `n` decisions of a 0.3-greedy logger, slates of 4; the decision's own random stream decides rewards. */
export function loggedDecisions(n: number, daysAgo: number): LoggedDecision[] {
  return Array.from({ length: n }, () => {
    const id = decisionId();
    const rng = rngForDecision(id);
    const items = epsilonGreedySlate(cands, 4, 0.3, rng).map((it) => ({
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

/** The INSERT for `batch` on `surface`: [sql, params] for any driver (ts = now − daysAgo). */
export function insertDecisionsSql(batch: LoggedDecision[], surface: string): [string, unknown[]] {
  const rows = batch.flatMap((d) =>
    d.items.map((it, i) => ({ ...it, decision_id: d.id, days_ago: d.daysAgo, reward: d.rewards[i], score: it.q_hat })),
  );
  return [
    `INSERT INTO public.learning_events (ts, surface, candidate_id, policy, p_exp, score, explored, reward, decision_id, "position",
                                         n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
     SELECT now() - make_interval(days => r.days_ago), $2, r.candidate_id, $3, r.p_exp, r.score, r.explored, r.reward, r.decision_id,
            r."position", r.n_remaining, r.is_greedy, r.p_prefix, r.greedy_prefix, r.q_greedy, r.q_mean
     FROM json_to_recordset($1::json) AS r(days_ago int, candidate_id text, p_exp float8, score float8, explored boolean, reward float8,
          decision_id uuid, "position" int, n_remaining int, is_greedy boolean, p_prefix float8, greedy_prefix boolean, q_greedy float8, q_mean float8)`,
    [JSON.stringify(rows), surface, OPE_POLICY],
  ];
}

/** The pure estimators' sums per target over the decisions younger than `days`, rewards as they are now. */
export function expectedSums(all: LoggedDecision[], days: number): Map<string, OpeSums> {
  const out = new Map(OPE_TARGETS.map((t) => [t.name, emptySums()]));
  for (const d of all.filter((x) => x.daysAgo < days)) {
    const items = d.items.map((it, i) => ({ ...it, reward: d.rewards[i] ?? 0 }));
    for (const t of OPE_TARGETS) addDecision(out.get(t.name)!, items, t);
  }
  return out;
}

/** Per-target sums of learning_ope_daily rows of one surface (every day). */
export const ROLLED_SUMS_SQL = `
  SELECT target, sum(decisions)::float8 AS decisions, sum(items)::float8 AS items, sum(x) AS x, sum(x2) AS x2, sum(xn) AS xn,
         sum(n2) AS n2, sum(w) AS w, sum(w2) AS w2, sum(xw) AS xw, sum(wn) AS wn, sum(y) AS y, sum(y2) AS y2, sum(yn) AS yn,
         sum(wp) AS wp, sum(rho) AS rho, sum(rho_prev) AS rho_prev, sum(clipped)::float8 AS clipped,
         min(r_min) AS r_min, max(r_max) AS r_max, min(q_min) AS q_min, max(q_max) AS q_max
  FROM public.learning_ope_daily WHERE policy = $1 AND surface = $2 GROUP BY target`;

export function rolledSums(rows: Record<string, unknown>[]): Map<string, OpeSums> {
  return new Map(rows.map(({ target, ...s }) => [target as string, s as unknown as OpeSums]));
}

/** Every field equal to 1e-9 relative (rounding differs between the two summation orders). */
export function expectSums(got: OpeSums | undefined, want: OpeSums, label: string): void {
  expect(got, label).toBeDefined();
  for (const k of Object.keys(want) as (keyof OpeSums)[]) {
    const w = want[k];
    if (w === null) expect(got![k], `${label} ${k}`).toBeNull();
    else
      expect(Math.abs((got![k] as number) - w), `${label} ${k}: ${got![k]} vs ${w}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w)));
  }
}
