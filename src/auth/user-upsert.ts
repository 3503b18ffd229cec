// First sight of a user upserts auth.users (id, email, claims, last_seen_at), so user-owned rows
// can reference it. Remembered per isolate for SEEN_TTL_MS: a user's requests do not each write
// to Postgres. A failed upsert is logged and retried after FAILURE_BACKOFF_MS; it never fails the
// request (the token was valid). Hot routes (rank, flags) skip it: they never touch Postgres.
import { sql } from 'drizzle-orm';
import { execute } from '../db/sql';
import { errorFields } from '../observability/logger';
import type { AuthUser } from '../platform/app-env';
import type { Unit } from '../platform/unit';
import { withTimeout } from '../util/time';

const SEEN_TTL_MS = 10 * 60_000;
const FAILURE_BACKOFF_MS = 30_000;
const UPSERT_TIMEOUT_MS = 1_500;
/** Bounded: the oldest entries go first (Map keeps insertion order). */
const MAX_ENTRIES = 10_000;

/** userId → time until which we need not upsert again (success or backoff). */
const seenUntil = new Map<string, number>();

function remember(id: string, until: number): void {
  seenUntil.delete(id);
  seenUntil.set(id, until);
  if (seenUntil.size > MAX_ENTRIES) seenUntil.delete(seenUntil.keys().next().value!);
}

/** Claims worth keeping: everything except the signature-relevant timing fields. */
function storedClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const { exp: _exp, iat: _iat, nbf: _nbf, jti: _jti, ...rest } = claims;
  return rest;
}

/**
 * Upsert the user unless they were erased: while their tombstone lives (src/privacy), a token that
 * is still valid must not bring the row back, so the user-owned writes that need it answer 409.
 * erased_users_among() holds the erasure lock shared until this statement commits, so an upsert
 * racing an erasure either lands before it (and is deleted by it) or sees the tombstone.
 */
function upsertUser(unit: Pick<Unit, 'db'>, user: AuthUser) {
  const claims = JSON.stringify(storedClaims(user.claims));
  return execute(
    unit.db(),
    sql`
    INSERT INTO auth.users AS u (id, email, raw_claims, last_seen_at)
    SELECT ${user.id}::uuid, ${user.email ?? null}::text, ${claims}::jsonb, now()
     WHERE ${user.id}::uuid <> ALL (public.erased_users_among(ARRAY[${user.id}::uuid]))
    ON CONFLICT (id) DO UPDATE SET last_seen_at = now(), email = coalesce(excluded.email, u.email), raw_claims = excluded.raw_claims`,
  );
}

export async function rememberUser(unit: Pick<Unit, 'db' | 'log'>, user: AuthUser): Promise<void> {
  const now = Date.now();
  if ((seenUntil.get(user.id) ?? 0) > now) return;
  // Claim the slot before the write so concurrent requests of the same user do not all upsert.
  remember(user.id, now + FAILURE_BACKOFF_MS);
  const log = unit.log;
  await withTimeout(Promise.resolve(upsertUser(unit, user)), UPSERT_TIMEOUT_MS, 'users upsert').then(
    () => remember(user.id, Date.now() + SEEN_TTL_MS),
    (err) => log.warn('auth.user_upsert_failed', { user_id: user.id, ...errorFields(err) }),
  );
}

/** This isolate upserts the user again at their next request (after an erasure). */
export function forgetSeenUser(id: string): void {
  seenUntil.delete(id);
}

/** Tests only: forget every remembered user (isolate memory is shared by a test file). */
export function forgetSeenUsers(): void {
  seenUntil.clear();
}
