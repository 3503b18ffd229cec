// Reward ranges in Postgres (public.reward_ranges, migration 0700): plain CRUD with the query
// builder, and the SQL pieces the consumer and the rollup's sweep share when they reject a reward
// outside the range of its impression's real surface.
import { asc, eq, sql } from 'drizzle-orm';
import { rewardRanges } from '../db/schema';
import type { Db } from '../db/sql';

/** The key of the default row: the range of every surface without its own. */
export const DEFAULT_RANGE_KEY = '*';

export interface RangeRow {
  surface: string;
  min_reward: number;
  max_reward: number;
  updated_at: string;
  updated_by: string | null;
}

const columns = {
  surface: rewardRanges.surface,
  min_reward: rewardRanges.minReward,
  max_reward: rewardRanges.maxReward,
  updatedAt: rewardRanges.updatedAt,
  updated_by: rewardRanges.updatedBy,
};

const toRow = ({ updatedAt, ...r }: { updatedAt: Date } & Omit<RangeRow, 'updated_at'>): RangeRow => ({
  ...r,
  updated_at: updatedAt.toISOString(),
});

export async function listRangeRows(db: Db): Promise<RangeRow[]> {
  const rows = await db.select(columns).from(rewardRanges).orderBy(asc(rewardRanges.surface));
  return rows.map(toRow);
}

/** The row of one key, read under FOR UPDATE (inside the writer's transaction). */
export async function lockRangeRow(tx: Db, surface: string): Promise<RangeRow | undefined> {
  const [row] = await tx.select(columns).from(rewardRanges).where(eq(rewardRanges.surface, surface)).for('update');
  return row ? toRow(row) : undefined;
}

export async function upsertRangeRow(tx: Db, surface: string, min: number, max: number, by: string): Promise<RangeRow> {
  const [row] = await tx
    .insert(rewardRanges)
    .values({ surface, minReward: min, maxReward: max, updatedBy: by })
    .onConflictDoUpdate({
      target: rewardRanges.surface,
      set: { minReward: min, maxReward: max, updatedBy: by, updatedAt: sql`now()` },
    })
    .returning(columns);
  return toRow(row!);
}

export async function deleteRangeRow(tx: Db, surface: string): Promise<boolean> {
  const rows = await tx.delete(rewardRanges).where(eq(rewardRanges.surface, surface)).returning({ surface: rewardRanges.surface });
  return rows.length > 0;
}

/**
 * The reward range of the surface `surfaceExpr` as joins of the statement it is spliced into
 * (aliases `<p>_own`, `<p>_all`): the surface's own row, else the '*' row, else [0, 1] — what
 * public.reward_range_for() returns, inline, because a SQL function with a table in it is executed
 * (not inlined) once per row, which costs more than the rest of a consumer batch. Read the bounds
 * with rangeMin(p) / rangeMax(p). Arguments are constants of our code, never input.
 */
export const joinRange = (surfaceExpr: string, p: string) =>
  sql.raw(`LEFT JOIN public.reward_ranges ${p}_own ON ${p}_own.surface = ${surfaceExpr}
  LEFT JOIN public.reward_ranges ${p}_all ON ${p}_all.surface = '${DEFAULT_RANGE_KEY}'`);
export const rangeMin = (p: string) => sql.raw(`coalesce(${p}_own.min_reward, ${p}_all.min_reward, 0)`);
export const rangeMax = (p: string) => sql.raw(`coalesce(${p}_own.max_reward, ${p}_all.max_reward, 1)`);

/**
 * Why a reward was rejected, from the row alias `a` of the statement it is spliced into (columns
 * reward, surface, min_reward, max_reward). `a` is a constant of our code, never input.
 */
export const REJECTION_TEXT = (a: string) =>
  sql.raw(
    `format('reward %s is outside [%s, %s], the reward range of surface %s', ${a}.reward, ${a}.min_reward, ${a}.max_reward, ${a}.surface)`,
  );

/**
 * A CTE named rejected_metric counting the rejected rewards of `cte` (rows with `surface` and
 * `rejected_at`) into gauge_metrics_minute as learning.rewards_rejected per surface and minute.
 * Callers pass only rows they newly rejected, so a redelivery never counts twice. Ordered by
 * surface: one lock order, so concurrent batches cannot deadlock on the metric rows.
 */
export const rejectedRewardsMetric = (cte: string) =>
  sql.raw(`rejected_metric AS (
  INSERT INTO public.gauge_metrics_minute AS g (metric, subject, minute, value, samples)
  SELECT 'learning.rewards_rejected', coalesce(surface, ''), date_trunc('minute', now()), count(*), count(*)
  FROM ${cte} WHERE rejected_at IS NOT NULL GROUP BY surface ORDER BY surface
  ON CONFLICT (metric, subject, minute) DO UPDATE SET value = g.value + EXCLUDED.value, samples = g.samples + EXCLUDED.samples
  RETURNING 1
)`);
