// What GET /admin/policy/ope reads: the per-day OPE sums the */5 rollup keeps (learning_ope_daily,
// migration 0720) plus the tail it has not rolled yet (learning_ope_changes() from the watermark,
// no upper bound: decisions with events above it, or with a reward changed since), summed per
// target. Both are the additive OpeSums of src/ranker/ope.ts, so the answer equals the sums over
// the raw log. All of it runs in one read-only REPEATABLE READ transaction (one snapshot) under a
// statement timeout: a slow answer is a 503 with Retry-After, never a request holding a connection
// for minutes.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, execute, nullable, queryOne, queryRows, transaction } from '../db/sql';
import { emptySums, OPE_CLIP, type OpeSums } from '../ranker';

/** Each statement of the OPE read may take at most this long (SET LOCAL statement_timeout). */
export const OPE_STATEMENT_TIMEOUT_MS = 3_000;

export interface OpeWindow {
  policy: string;
  /** The last `days` UTC days, today included. */
  days: number;
  surface?: string;
}

const SUMS = ['decisions', 'items', 'x', 'x2', 'xn', 'n2', 'w', 'w2', 'xw', 'wn', 'y', 'y2', 'yn', 'wp', 'rho', 'rho_prev', 'clipped'];
const summed = sql.raw(SUMS.map((c) => `sum(${c})::float8 AS ${c}`).join(', '));
const cols = sql.raw(SUMS.join(', '));

const since = (days: number) => sql`((now() AT TIME ZONE 'UTC')::date - ${days - 1}::int)`;

const opeWindowSql = (q: OpeWindow, watermark: string) => {
  const surface = q.surface ?? null;
  return sql`
WITH rolled AS (
  SELECT target, ${cols}, r_min, r_max, q_min, q_max
  FROM public.learning_ope_daily
  WHERE policy = ${q.policy} AND day >= ${since(q.days)} AND (${surface}::text IS NULL OR surface = ${surface})
), tail AS (
  SELECT c.target, ${sql.raw(SUMS.map((k) => `c.${k}`).join(', '))}, c.r_min, c.r_max, c.q_min, c.q_max
  FROM public.learning_ope_changes(${watermark}::xid8, NULL, ${OPE_CLIP}::float8, ${q.policy}, ${surface}) c
  WHERE c.day >= ${since(q.days)}
)
SELECT target, ${summed}, min(r_min) AS r_min, max(r_max) AS r_max, min(q_min) AS q_min, max(q_max) AS q_max
FROM (SELECT * FROM rolled UNION ALL SELECT * FROM tail) u
GROUP BY target`;
};

const n = col.number;
/** One row per target: exactly the OpeSums fields (a test compares them with addDecision()). */
const OpeSumsRow = z.object({
  target: col.text,
  decisions: n,
  items: n,
  x: n,
  x2: n,
  xn: n,
  n2: n,
  w: n,
  w2: n,
  xw: n,
  wn: n,
  y: n,
  y2: n,
  yn: n,
  wp: n,
  rho: n,
  rho_prev: n,
  clipped: n,
  r_min: nullable.number,
  r_max: nullable.number,
  q_min: nullable.number,
  q_max: nullable.number,
});

const LoggedRow = z.object({
  decisions: col.number,
  impressions: col.number,
  rewarded: col.number,
  reward_sum: col.number,
  reward_lo: col.number,
  reward_hi: col.number,
});

/**
 * The logged policy's totals in the window — learning_policy_daily plus the events above the
 * watermark and the pending reward deltas, as vw_policy_health reads them — and the a-priori reward
 * range of the surface (reward_ranges; over every surface when none is given).
 */
const loggedSql = (q: OpeWindow, watermark: string) => {
  const surface = q.surface ?? null;
  return sql`
WITH parts AS (
  SELECT d.decisions, d.impressions, d.rewarded, d.reward_sum
  FROM public.learning_policy_daily d
  WHERE d.policy = ${q.policy} AND d.day >= ${since(q.days)} AND (${surface}::text IS NULL OR d.surface = ${surface})
  UNION ALL
  SELECT (le.decision_id IS NULL OR le."position" = 0)::int, 1, 0, 0
  FROM public.learning_events le
  WHERE le.ins_xid >= ${watermark}::xid8 AND le.policy = ${q.policy} AND (${surface}::text IS NULL OR le.surface = ${surface})
    AND (le.ts AT TIME ZONE 'UTC')::date >= ${since(q.days)}
  UNION ALL
  SELECT 0, 0, r.d_count, r.d_reward
  FROM public.learning_reward_deltas r
  WHERE r.policy = ${q.policy} AND (${surface}::text IS NULL OR r.surface = ${surface}) AND (r.ts AT TIME ZONE 'UTC')::date >= ${since(q.days)}
), range AS (
  SELECT r.min_reward AS lo, r.max_reward AS hi FROM public.reward_range_for(${surface}) r WHERE ${surface}::text IS NOT NULL
  UNION ALL
  SELECT coalesce(min(rr.min_reward), 0), coalesce(max(rr.max_reward), 1) FROM public.reward_ranges rr HAVING ${surface}::text IS NULL
)
SELECT coalesce(sum(p.decisions), 0)::float8 AS decisions, coalesce(sum(p.impressions), 0)::float8 AS impressions,
       coalesce(sum(p.rewarded), 0)::float8 AS rewarded, coalesce(sum(p.reward_sum), 0)::float8 AS reward_sum,
       (SELECT lo FROM range) AS reward_lo, (SELECT hi FROM range) AS reward_hi
FROM parts p`;
};

export interface OpeWindowResult {
  sums: Map<string, OpeSums>;
  logged: z.output<typeof LoggedRow>;
}

/** Per-target sums (targets with no data: empty sums) and the logged totals, under the statement timeout. */
export function readOpeWindow(db: Db, q: OpeWindow, targets: readonly string[]): Promise<OpeWindowResult> {
  return transaction(db, async (tx) => {
    // One snapshot for the watermark, the rollups and the tail: a rollup committing between two
    // statements would otherwise count its window twice (in the rollups and in the tail).
    await execute(tx, sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
    await execute(tx, sql.raw(`SET LOCAL statement_timeout = '${OPE_STATEMENT_TIMEOUT_MS}ms'`));
    // The watermark as a constant: the planner then sees how few rows lie above it (index scans).
    const { watermark } = await queryOne(
      tx,
      'learning.ope_watermark',
      z.object({ watermark: col.text }),
      sql`SELECT coalesce((SELECT watermark FROM public.learning_rollup_state WHERE name = 'learning'), '0'::xid8)::text AS watermark`,
    );
    const rows = await queryRows(tx, 'learning.ope_window', OpeSumsRow, opeWindowSql(q, watermark));
    const logged = await queryOne(tx, 'learning.ope_logged', LoggedRow, loggedSql(q, watermark));
    const sums = new Map(targets.map((t) => [t, emptySums()]));
    for (const { target, ...row } of rows) if (sums.has(target)) sums.set(target, row satisfies OpeSums);
    return { sums, logged };
  });
}
