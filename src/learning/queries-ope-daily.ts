// The OPE part of the learning rollup: one statement, run inside the rollup's transaction with the
// rollup's [watermark, horizon) window. It consumes the OPE reward deltas and folds the change of
// every touched decision (learning_ope_changes(), migration 0720) into learning_ope_daily, and
// drops rows past the learning_events retention window (plus the same 7-day margin as the other
// rollups). The deltas are deleted by the same statement that reads them (one snapshot): a reward
// committed in between is either in both or in neither.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, queryOne } from '../db/sql';
import { OPE_CLIP } from '../ranker';

const SUMS = 'decisions, items, x, x2, xn, n2, w, w2, xw, wn, y, y2, yn, wp, rho, rho_prev, clipped';
const added = SUMS.split(', ')
  .map((c) => `${c} = t.${c} + EXCLUDED.${c}`)
  .join(', ');

const rollUpOpeSql = (watermark: string, horizon: string) => sql`
WITH consumed AS (
  DELETE FROM public.learning_ope_reward_deltas RETURNING 1
), cutoff AS (
  SELECT ((now() - public.retention_for('learning_events', interval '90 days') - interval '7 days') AT TIME ZONE 'UTC')::date AS day
), up AS (
  INSERT INTO public.learning_ope_daily AS t (policy, surface, day, target, ${sql.raw(SUMS)}, r_min, r_max, q_min, q_max)
  SELECT c.policy, c.surface, c.day, c.target, ${sql.raw(
    SUMS.split(', ')
      .map((k) => `c.${k}`)
      .join(', '),
  )}, c.r_min, c.r_max, c.q_min, c.q_max
  FROM public.learning_ope_changes(${watermark}::xid8, ${horizon}::xid8, ${OPE_CLIP}::float8) c, cutoff
  WHERE c.day >= cutoff.day
  ON CONFLICT (policy, day, surface, target) DO UPDATE SET ${sql.raw(added)},
    r_min = least(t.r_min, EXCLUDED.r_min), r_max = greatest(t.r_max, EXCLUDED.r_max),
    q_min = least(t.q_min, EXCLUDED.q_min), q_max = greatest(t.q_max, EXCLUDED.q_max), updated_at = now()
  RETURNING 1
), expired AS (
  DELETE FROM public.learning_ope_daily WHERE ctid = ANY (ARRAY(
    SELECT d.ctid FROM public.learning_ope_daily d, cutoff WHERE d.day < cutoff.day LIMIT 5000))
  RETURNING 1
)
SELECT (SELECT count(*) FROM up)::int AS ope_rows, (SELECT count(*) FROM consumed)::int AS ope_rewards,
       (SELECT count(*) FROM expired)::int AS ope_expired`;

const RolledUpOpe = z.object({ ope_rows: col.number, ope_rewards: col.number, ope_expired: col.number });

/** Fold decisions touched in [watermark, horizon) or by a reward change into learning_ope_daily. */
export const rollUpOpe = (tx: Db, range: { watermark: string; horizon: string }) =>
  queryOne(tx, 'learning.roll_up_ope', RolledUpOpe, rollUpOpeSql(range.watermark, range.horizon));
