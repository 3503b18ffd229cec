// The sufficient statistics of src/ranker/ope.ts, computed in Postgres over a window of
// learning_events, for GET /admin/policy/ope. Postgres does the per-row work (one pass, windowed
// by decision), the Worker gets one row per target policy and turns it into estimates and CIs.
// Mirrors addDecision() exactly (a test checks both on the same data):
//   w      = π_t(a|R)/p_exp, π_t = (1−ε_t)[greedy] + ε_t/|R|   (the logging policy: w = 1)
//   ρ_k    = Π_{j≤k} w_j (0 if any w_j = 0), clipped at `clip`; ρ_{k−1} likewise, 1 at k = 0
//   DM_k   = (1−ε)·q_greedy + ε·q_mean with ε = ε_t (logging policy: ε recovered from p_exp)
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, nullable, queryOne, queryRows } from '../db/sql';
import { emptySums, type OpeSums, type OpeTarget } from '../ranker';

export interface OpeQuery {
  policy: string;
  days: number;
  surface?: string;
  targets: OpeTarget[];
  clip: number;
}

const opeSumsSql = (targetsJson: string, policy: string, days: number, surface: string | null, clip: number) => sql`
WITH t AS (
  SELECT * FROM json_to_recordset(${targetsJson}::json) AS t(name text, eps float8)
), rows AS (
  SELECT le.decision_id, le."position", le.p_exp, le.is_greedy, le.n_remaining, coalesce(le.reward, 0) AS r,
         coalesce(le.score, 0) AS q, coalesce(le.q_greedy, 0) AS q_greedy, coalesce(le.q_mean, 0) AS q_mean,
         CASE WHEN le.n_remaining <= 1 THEN 0
              WHEN le.is_greedy THEN (1 - le.p_exp) * le.n_remaining / (le.n_remaining - 1)
              ELSE le.p_exp * le.n_remaining END AS logged_eps
  FROM public.learning_events le
  WHERE le.policy = ${policy} AND le.ts >= now() - make_interval(days => ${days}) AND (${surface}::text IS NULL OR le.surface = ${surface})
    AND le.decision_id IS NOT NULL AND le.p_exp > 0 AND le.n_remaining IS NOT NULL AND le.is_greedy IS NOT NULL
), w AS (
  SELECT t.name, r.decision_id, r."position", r.r, r.q,
         CASE WHEN t.eps IS NULL THEN 1::float8
              ELSE ((1 - t.eps) * r.is_greedy::int + t.eps / r.n_remaining) / r.p_exp END AS w,
         (1 - coalesce(t.eps, r.logged_eps)) * r.q_greedy + coalesce(t.eps, r.logged_eps) * r.q_mean AS dm
  FROM rows r CROSS JOIN t
), c AS (
  SELECT name, decision_id, r, q, dm,
         CASE WHEN bool_or(w = 0) OVER upto THEN 0 ELSE exp(sum(ln(nullif(w, 0))) OVER upto) END AS rho,
         coalesce(CASE WHEN bool_or(w = 0) OVER prev THEN 0 ELSE exp(sum(ln(nullif(w, 0))) OVER prev) END, 1) AS rho_prev
  FROM w
  WINDOW upto AS (PARTITION BY name, decision_id ORDER BY "position" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
         prev AS (PARTITION BY name, decision_id ORDER BY "position" ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), d AS (
  SELECT name, decision_id, count(*)::float8 AS n,
         sum(least(rho, ${clip}) * r) AS x, sum(least(rho, ${clip})) AS wsum,
         sum(least(rho_prev, ${clip}) * dm + least(rho, ${clip}) * (r - q)) AS y,
         sum(least(rho, ${clip}) ^ 2) AS iw2, count(*) FILTER (WHERE rho > ${clip})::float8 AS clipped
  FROM c GROUP BY name, decision_id
)
SELECT name, count(*)::float8 AS decisions, sum(n) AS items,
       sum(x) AS x, sum(x * x) AS x2, sum(x * n) AS xn, sum(n * n) AS n2,
       sum(wsum) AS w, sum(wsum * wsum) AS w2, sum(x * wsum) AS xw,
       sum(y) AS y, sum(y * y) AS y2, sum(y * n) AS yn,
       sum(wsum) AS iw, sum(iw2) AS iw2, sum(clipped) AS clipped
FROM d GROUP BY name`;

const n = nullable.number;
const OpeSumsRow = z.object({
  name: col.text,
  decisions: n,
  items: n,
  x: n,
  x2: n,
  xn: n,
  n2: n,
  w: n,
  w2: n,
  xw: n,
  y: n,
  y2: n,
  yn: n,
  iw: n,
  iw2: n,
  clipped: n,
});

/** One OpeSums per target name (targets with no data get empty sums). */
export async function opeSums(db: Db, q: OpeQuery): Promise<Map<string, OpeSums>> {
  const targetsJson = JSON.stringify(q.targets.map((t) => ({ name: t.name, eps: t.epsilon })));
  const rows = await queryRows(db, 'learning.ope_sums', OpeSumsRow, opeSumsSql(targetsJson, q.policy, q.days, q.surface ?? null, q.clip));
  const out = new Map(q.targets.map((t) => [t.name, emptySums()]));
  for (const row of rows) {
    const sums = emptySums();
    for (const k of Object.keys(sums) as (keyof OpeSums)[]) sums[k] = row[k] ?? 0;
    out.set(row.name, sums);
  }
  return out;
}

const LoggedSummary = z.object({
  impressions: col.number,
  decisions: col.number,
  rewarded: col.number,
  reward_sum: col.number,
  without_propensity: col.number,
});

/** Window totals of the logged data, including what OPE had to leave out (no propensity). */
export async function loggedSummary(db: Db, q: Omit<OpeQuery, 'targets' | 'clip'>): Promise<z.output<typeof LoggedSummary>> {
  const surface = q.surface ?? null;
  return queryOne(
    db,
    'learning.logged_summary',
    LoggedSummary,
    sql`
    SELECT count(*)::int AS impressions,
           count(DISTINCT coalesce(decision_id::text, 'row:' || id))::int AS decisions,
           count(reward)::int AS rewarded, coalesce(sum(reward), 0)::float8 AS reward_sum,
           count(*) FILTER (WHERE NOT (decision_id IS NOT NULL AND p_exp > 0 AND n_remaining IS NOT NULL AND is_greedy IS NOT NULL))::int AS without_propensity
    FROM public.learning_events
    WHERE policy = ${q.policy} AND ts >= now() - make_interval(days => ${q.days}) AND (${surface}::text IS NULL OR surface = ${surface})`,
  );
}
