// Erasure's Postgres side: the SQL functions of migration 0770 (begin, erase rows) and the plain
// CRUD on the erasure record (public.user_erasures) through drizzle. See erasure.ts for the order.
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { userErasures } from '../db/schema';
import type { Db } from '../db/sql';
import { col, queryMaybe, queryOne } from '../db/sql';

const Begun = z.object({ erasure_id: col.uuid, created: col.bool });

/** Tombstone + record + ledger row under the erasure lock (one transaction); the same id while the tombstone lives. */
export function beginErasure(db: Db, userId: string, actor: string, reason: string, requestId: string) {
  return queryOne(
    db,
    'privacy.begin_erasure',
    Begun,
    sql`SELECT erasure_id, created FROM public.begin_user_erasure(${userId}::uuid, ${actor}, ${reason}, ${requestId})`,
  );
}

/** Delete the user's rows everywhere erasure_targets says; returns rows deleted per table. */
export async function eraseRows(db: Db, erasureId: string, userId: string): Promise<Record<string, number>> {
  const { deleted } = await queryOne(
    db,
    'privacy.erase_rows',
    z.object({ deleted: z.record(z.string(), z.number()) }),
    sql`SELECT public.erase_user_rows(${erasureId}::uuid, ${userId}::uuid) AS deleted`,
  );
  return deleted;
}

export type ErasureStep = 'kv' | 'limiter';

export async function markStep(db: Db, erasureId: string, step: ErasureStep): Promise<void> {
  const at = sql`now()`;
  await db
    .update(userErasures)
    .set(step === 'kv' ? { kvAt: at } : { limiterAt: at })
    .where(eq(userErasures.id, erasureId));
}

/** One more run of the steps; its error (if any) is kept for GET /admin/erasures/{id}. */
export async function recordRun(db: Db, erasureId: string, error: string | null): Promise<void> {
  await db
    .update(userErasures)
    .set({ attempts: sql`${userErasures.attempts} + 1`, lastError: error })
    .where(eq(userErasures.id, erasureId));
}

/** Complete once every store is done: the user id the record held for the steps is cleared. */
export async function completeErasure(db: Db, erasureId: string): Promise<boolean> {
  const e = userErasures;
  const rows = await db
    .update(e)
    .set({ completedAt: sql`coalesce(${e.completedAt}, now())`, userId: null, lastError: null })
    .where(and(eq(e.id, erasureId), isNotNull(e.tombstoneAt), isNotNull(e.postgresAt), isNotNull(e.kvAt), isNotNull(e.limiterAt)))
    .returning({ id: e.id });
  return rows.length === 1;
}

export function getErasure(db: Db, erasureId: string) {
  return db
    .select()
    .from(userErasures)
    .where(eq(userErasures.id, erasureId))
    .then((rows) => rows[0]);
}
export type ErasureRow = NonNullable<Awaited<ReturnType<typeof getErasure>>>;

/** Pending erasures, oldest first (the sweep completes them). */
export function pendingErasures(db: Db, limit: number) {
  const e = userErasures;
  return db
    .select({ id: e.id, userId: e.userId })
    .from(e)
    .where(and(isNull(e.completedAt), isNotNull(e.userId)))
    .orderBy(asc(e.requestedAt))
    .limit(limit);
}

const ErasureOfUser = z.object({ erasure_id: col.uuid, requested_at: col.isoTime, completed_at: z.string().nullable() });

/** The live erasure of a user, found by the subject hash of their tombstone (exports name it). */
export function erasureOfUser(db: Db, userId: string) {
  return queryMaybe(
    db,
    'privacy.erasure_of_user',
    ErasureOfUser,
    sql`
    SELECT e.id AS erasure_id, e.requested_at, to_char(e.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS completed_at
      FROM public.erasure_tombstones t JOIN public.user_erasures e ON e.id = t.erasure_id
     WHERE t.subject_hash = public.erasure_subject(${userId}::uuid)`,
  );
}
