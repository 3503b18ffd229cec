// Change a reward range: Postgres (the truth) with a ledger row in one transaction, then the edge
// copy (KV LIMITS + this isolate) at once. PUT/DELETE /admin/reward-ranges/{surface} and
// `npm run reward-ranges` take this path; an operator's SQL UPDATE reaches the edge with the
// per-minute reward-range-sync instead (no ledger row: SQL is its own record).
import { recordAction } from '../db/ledger';
import { transaction } from '../db/sql';
import { badRequest, conflict } from '../http/errors';
import { errorFields } from '../observability/logger';
import type { Unit } from '../platform/unit';
import { DEFAULT_RANGE_KEY, deleteRangeRow, lockRangeRow, type RangeRow, upsertRangeRow } from './queries-reward-ranges';
import { syncRewardRanges } from './reward-ranges';

/** The widest range a surface may have (the table's CHECK; rewards are doubles, not unbounded). */
export const RANGE_BOUND = 1e6;

export interface RangeWriteMeta {
  actor: string;
  reason?: string;
  requestId?: string;
}

export interface RangeWriteResult {
  surface: string;
  old: { min: number; max: number } | null;
  new: { min: number; max: number } | null;
  changed: boolean;
  /** The edge copy: written now, or left to the next per-minute sync because KV failed. */
  kv: 'put' | 'put_failed';
}

type WriteUnit = Pick<Unit, 'env' | 'db' | 'log'>;

const rangeOf = (r: RangeRow | undefined) => (r ? { min: r.min_reward, max: r.max_reward } : null);

async function pushToEdge(c: WriteUnit): Promise<RangeWriteResult['kv']> {
  try {
    await syncRewardRanges(c.env, c.db());
    return 'put';
  } catch (err) {
    c.log.warn('reward_ranges.kv_put_failed', errorFields(err));
    return 'put_failed';
  }
}

/** Set the range of `surface` ('*' = the default of every surface without its own). */
export async function setRewardRange(
  c: WriteUnit,
  surface: string,
  min: number,
  max: number,
  meta: RangeWriteMeta,
): Promise<RangeWriteResult> {
  if (!(min < max)) throw badRequest(`min_reward must be below max_reward (got [${min}, ${max}])`);
  if (min < -RANGE_BOUND || max > RANGE_BOUND) throw badRequest(`a reward range must lie within [${-RANGE_BOUND}, ${RANGE_BOUND}]`);
  const { old, changed } = await transaction(c.db(), async (tx) => {
    const before = await lockRangeRow(tx, surface);
    if (before && before.min_reward === min && before.max_reward === max) return { old: before, changed: false };
    await upsertRangeRow(tx, surface, min, max, meta.actor);
    await recordAction(tx, {
      actor: meta.actor,
      action: 'reward_range.set',
      target: surface,
      oldValue: rangeOf(before),
      newValue: { min, max },
      reason: meta.reason,
      requestId: meta.requestId,
    });
    return { old: before, changed: true };
  });
  const kv = await pushToEdge(c);
  c.log.info('reward_range.set', { surface, min, max, changed, actor: meta.actor, kv });
  return { surface, old: rangeOf(old), new: { min, max }, changed, kv };
}

/** Remove a surface's own range: its rewards fall back to the default range. */
export async function unsetRewardRange(c: WriteUnit, surface: string, meta: RangeWriteMeta): Promise<RangeWriteResult> {
  if (surface === DEFAULT_RANGE_KEY) throw conflict('the default range cannot be removed; set it instead');
  const old = await transaction(c.db(), async (tx) => {
    const before = await lockRangeRow(tx, surface);
    if (!before) return undefined;
    await deleteRangeRow(tx, surface);
    await recordAction(tx, {
      actor: meta.actor,
      action: 'reward_range.unset',
      target: surface,
      oldValue: rangeOf(before),
      newValue: null,
      reason: meta.reason,
      requestId: meta.requestId,
    });
    return before;
  });
  const kv = await pushToEdge(c);
  c.log.info('reward_range.unset', { surface, changed: old !== undefined, actor: meta.actor, kv });
  return { surface, old: rangeOf(old), new: null, changed: old !== undefined, kv };
}
