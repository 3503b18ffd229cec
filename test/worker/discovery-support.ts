// Fixtures for the discovery tests: private users, interests and jobs (random UUIDs, so test files
// sharing the database never see each other's rows), polling, and a real lock held on a gap row —
// a genuine cause of discovery failures (lock timeout) that the test can switch off.
import { sql } from 'drizzle-orm';
import { execute, transaction } from '../../src/db/sql';
import type { TestDb as Db } from './support';

export async function newUser(db: Db): Promise<string> {
  const id = crypto.randomUUID();
  await db.query('INSERT INTO auth.users (id, email) VALUES ($1, $2)', [id, `${id}@test.local`]);
  return id;
}

/** A new catalog interest mapped to a new category with `candidates` active candidates (min_supply 3). */
export async function newInterest(db: Db, candidates = 0): Promise<{ interestId: string; categoryId: string }> {
  const [row] = await db.query<{ id: string }>('INSERT INTO public.interest_catalog (name) VALUES ($1) RETURNING id', [
    `Interest ${crypto.randomUUID()}`,
  ]);
  const [cat] = await db.query<{ id: string }>('SELECT public.ensure_category_for_interest($1) AS id', [row!.id]);
  for (let i = 0; i < candidates; i++) {
    await db.query('INSERT INTO public.marketplace_candidates (category_id, title, score) VALUES ($1, $2, 0.5)', [
      cat!.id,
      `candidate ${i}`,
    ]);
  }
  return { interestId: row!.id, categoryId: cat!.id };
}

/** A queued discovery job written straight into the ledger. */
export async function newJob(db: Db, interestId: string, opts: { userId?: string; topic?: string } = {}): Promise<string> {
  const userId = opts.userId ?? (await newUser(db));
  const [row] = await db.query<{ id: string }>(
    `INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, topic) VALUES ($1, $2, $3) RETURNING id`,
    [userId, interestId, opts.topic ?? 'discovery.user-signup'],
  );
  return row!.id;
}

export interface JobRow {
  id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  lease_token: string | null;
  relayed_at: Date | null;
  processed_at: Date | null;
  dead_at: Date | null;
}

export async function jobRows(db: Db, ids: string[]): Promise<JobRow[]> {
  return db.query<JobRow>(
    `SELECT id, status, attempts, last_error, lease_token, relayed_at, processed_at, dead_at
       FROM public.marketplace_discovery_queue WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`,
    [ids],
  );
}

/** Poll until pred holds (or fail with the last value seen). */
export async function waitFor<T>(read: () => Promise<T>, pred: (v: T) => boolean, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await read();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/**
 * Hold the gap row of (interest, category) in an open transaction (an uncommitted insert), so
 * discovery for that interest waits on it and fails with a lock timeout until release().
 */
export async function holdGapLock(db: Db, interestId: string, categoryId: string): Promise<{ release(): Promise<void> }> {
  // A transaction left open until release(), which rolls it back by throwing this.
  class Release extends Error {}
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const holding = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const tx = transaction(db, async (t) => {
    await execute(
      t,
      sql`INSERT INTO public.marketplace_gaps (interest_id, category_id, candidate_count, required_count)
                         VALUES (${interestId}, ${categoryId}, 0, 3)`,
    );
    locked();
    await released;
    throw new Release();
  }).catch((err) => {
    if (!(err instanceof Release)) throw err;
  });
  // The insert failing must fail the caller, not leave it waiting.
  await Promise.race([holding, tx]);
  return {
    async release() {
      release();
      await tx;
    },
  };
}

export async function gapRow(db: Db, interestId: string) {
  const [row] = await db.query<{ candidate_count: number; required_count: number; gap: number; updated_at: Date }>(
    'SELECT candidate_count, required_count, gap, updated_at FROM public.marketplace_gaps WHERE interest_id = $1',
    [interestId],
  );
  return row;
}
