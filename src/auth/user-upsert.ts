// First sight of a user upserts auth.users (id, email, claims, last_seen_at), so user-owned rows
// can reference it. Remembered per isolate for SEEN_TTL_MS: a user's requests do not each write
// to Postgres. A failed upsert is logged and retried after FAILURE_BACKOFF_MS; it never fails the
// request (the token was valid). Hot routes (rank, flags) skip it: they never touch Postgres.
import { sql } from 'drizzle-orm';
import { users } from '../db/schema';
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

function upsertUser(unit: Pick<Unit, 'db'>, user: AuthUser) {
  return unit
    .db()
    .insert(users)
    .values({ id: user.id, email: user.email ?? null, rawClaims: storedClaims(user.claims), lastSeenAt: sql`now()` })
    .onConflictDoUpdate({
      target: users.id,
      set: { lastSeenAt: sql`now()`, email: sql`coalesce(excluded.email, ${users.email})`, rawClaims: sql`excluded.raw_claims` },
    });
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

/** Tests only: forget every remembered user (isolate memory is shared by a test file). */
export function forgetSeenUsers(): void {
  seenUntil.clear();
}
