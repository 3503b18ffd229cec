// Erasure of one user from every store (DELETE /v1/me, DELETE /admin/users/{id}, the sweep job):
//
//   tombstone   begin_user_erasure(): the erasure record, the tombstone (a keyed hash of the id)
//               and the ledger row, under the lock the queue consumers' writes hold shared — from
//               its commit on, nothing for the user is written by a consumer or the auth step
//   postgres    erase_user_rows(): every table of public.erasure_targets, outbox/dead-letter payloads
//   kv          FEATURES features:v1:user:<id>; LIMITS rate_limits:v1 rewritten without the override
//   limiter     the user's RateLimiter object drops its storage
//   complete    the record clears the user id it held for the steps above
//
// Every step is idempotent and is run again on every request for the same user (which also
// removes what the request itself left, e.g. its own rate-limit hit) and by the per-minute sweep
// while the erasure is pending, so a step that failed (KV or the limiter unreachable) completes
// later. Aggregates (rollups, sufficient statistics, metrics) keep no per-user rows and stay.
import { forgetSeenUser } from '../auth/user-upsert';
import { FEATURE_KEYS } from '../learning/feature-keys';
import { errorFields } from '../observability/logger';
import type { Unit } from '../platform/unit';
import { syncLimits } from '../ratelimit/config';
import { userSubjectKey } from '../ratelimit/middleware';
import {
  beginErasure,
  completeErasure,
  type ErasureRow,
  eraseRows,
  getErasure,
  markStep,
  pendingErasures,
  recordRun,
} from './queries-erasure';

type ErasureUnit = Pick<Unit, 'env' | 'db' | 'log'>;

export interface ErasureRequest {
  /** Who asked, for the ledger: 'user' (self-service) or the service caller ('api:service', x-actor). */
  actor: string;
  reason: string;
  requestId: string;
}

interface StoreState {
  done: boolean;
  at: string | null;
}

export interface ErasureStatus {
  erasure_id: string;
  status: 'pending' | 'complete';
  requested_at: string;
  requested_by: string;
  reason: string;
  completed_at: string | null;
  stores: { tombstone: StoreState; postgres: StoreState & { deleted: Record<string, number> }; kv: StoreState; limiter: StoreState };
  attempts: number;
  last_error: string | null;
}

const state = (at: Date | null): StoreState => ({ done: at !== null, at: at?.toISOString() ?? null });

/** The record as the API reports it: completion per store, never the user id. */
export function erasureStatus(row: ErasureRow): ErasureStatus {
  return {
    erasure_id: row.id,
    status: row.completedAt ? 'complete' : 'pending',
    requested_at: row.requestedAt.toISOString(),
    requested_by: row.requestedBy,
    reason: row.reason,
    completed_at: row.completedAt?.toISOString() ?? null,
    stores: {
      tombstone: state(row.tombstoneAt),
      postgres: { ...state(row.postgresAt), deleted: row.deleted },
      kv: state(row.kvAt),
      limiter: state(row.limiterAt),
    },
    attempts: row.attempts,
    last_error: row.lastError,
  };
}

/** Run the store steps of an erasure; a failed step is recorded and left to the next run. */
export async function runErasureSteps(u: ErasureUnit, erasureId: string, userId: string): Promise<boolean> {
  const db = u.db();
  const errors: string[] = [];
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message.slice(0, 300) : 'failed'}`);
      // The erasure id only: the log line must not carry the user id it is erasing.
      u.log.warn('privacy.erasure_step_failed', { erasure_id: erasureId, step: name, ...errorFields(err) });
    }
  };
  await step('postgres', () => eraseRows(db, erasureId, userId));
  await step('kv', async () => {
    await u.env.FEATURES.delete(FEATURE_KEYS.user(userId));
    await syncLimits(u.env, db);
    await markStep(db, erasureId, 'kv');
  });
  await step('limiter', async () => {
    await u.env.RATE_LIMITER.get(u.env.RATE_LIMITER.idFromName(userSubjectKey(userId))).erase();
    await markStep(db, erasureId, 'limiter');
  });
  await recordRun(db, erasureId, errors.length > 0 ? errors.join('; ') : null);
  return errors.length === 0 && (await completeErasure(db, erasureId));
}

/** Erase a user (idempotent): the erasure id, whether this request created it, and its status. */
export async function eraseUser(u: ErasureUnit, userId: string, req: ErasureRequest): Promise<{ created: boolean; status: ErasureStatus }> {
  const id = userId.toLowerCase();
  const db = u.db();
  const { erasure_id, created } = await beginErasure(db, id, req.actor, req.reason, req.requestId);
  forgetSeenUser(id);
  const complete = await runErasureSteps(u, erasure_id, id);
  u.log.info('privacy.erasure', { erasure_id, created, complete });
  return { created, status: erasureStatus((await getErasure(db, erasure_id))!) };
}

export async function erasureById(db: ReturnType<Unit['db']>, erasureId: string): Promise<ErasureStatus | undefined> {
  const row = await getErasure(db, erasureId);
  return row ? erasureStatus(row) : undefined;
}

/** The sweep: run the steps of pending erasures again (oldest first, a bounded number per run). */
export async function sweepErasures(u: ErasureUnit, limit = 20): Promise<{ pending: number; completed: number }> {
  const rows = await pendingErasures(u.db(), limit);
  let completed = 0;
  for (const r of rows) if (r.userId && (await runErasureSteps(u, r.id, r.userId))) completed++;
  return { pending: rows.length, completed };
}
