// First sight of a user upserts auth.users (id, email, claims, last_seen_at), so user-owned rows
// can reference it. Remembered per isolate for SEEN_TTL_MS: a user's requests do not each write
// to Postgres. A failed upsert is logged and retried after FAILURE_BACKOFF_MS; it never fails the
// request (the token was valid). Hot routes (rank, flags) skip it: they never touch Postgres.
import type { Context } from 'hono';
import type { AppEnv, AuthUser } from '../env';
import { errorFields } from '../observability/logger';
import { withTimeout } from './time';

const SEEN_TTL_MS = 10 * 60_000;
const FAILURE_BACKOFF_MS = 30_000;
const UPSERT_TIMEOUT_MS = 1_500;
/** Bounded: the oldest entries go first (Map keeps insertion order). */
const MAX_ENTRIES = 10_000;

/** userId → time until which we need not upsert again (success or backoff). */
const seenUntil = new Map<string, number>();

const UPSERT = `INSERT INTO auth.users (id, email, raw_claims, last_seen_at)
                VALUES ($1, $2, $3::jsonb, now())
                ON CONFLICT (id) DO UPDATE
                  SET last_seen_at = now(),
                      email = coalesce(EXCLUDED.email, auth.users.email),
                      raw_claims = EXCLUDED.raw_claims`;

function remember(id: string, until: number): void {
  seenUntil.delete(id);
  seenUntil.set(id, until);
  if (seenUntil.size > MAX_ENTRIES) seenUntil.delete(seenUntil.keys().next().value!);
}

/** Claims worth keeping: everything except the signature-relevant timing fields. */
function storedClaims(claims: Record<string, unknown>): string {
  const { exp: _exp, iat: _iat, nbf: _nbf, jti: _jti, ...rest } = claims;
  return JSON.stringify(rest);
}

export async function rememberUser(c: Context<AppEnv>, user: AuthUser): Promise<void> {
  const now = Date.now();
  if ((seenUntil.get(user.id) ?? 0) > now) return;
  // Claim the slot before the write so concurrent requests of the same user do not all upsert.
  remember(user.id, now + FAILURE_BACKOFF_MS);
  const log = c.get('log');
  const params = [user.id, user.email ?? null, storedClaims(user.claims)];
  await withTimeout(
    c.get('db')().query(UPSERT, params),
    UPSERT_TIMEOUT_MS,
    'users upsert',
  ).then(
    () => remember(user.id, Date.now() + SEEN_TTL_MS),
    (err) => log.warn('auth.user_upsert_failed', { user_id: user.id, ...errorFields(err) }),
  );
}

/** Tests only: forget every remembered user (isolate memory is shared by a test file). */
export function forgetSeenUsers(): void {
  seenUntil.clear();
}
