// Guide §2E–§2G verbatim — the user journey: interests → ensure category → enqueue → the queue
// worker over HTTP → health, gaps and suggestions — against a private clone of the migrated and
// seeded database (the guide's own TEST_USER, exact expectations, and the worker's lease of "up to
// 20 rows of the topic" touches no other test's rows).
import { describe, expect, it } from 'vitest';
import guideMarkdown from '../../docs/spec/day0-cutover-guide.md?raw';
import { GUIDE_TEST_USER, guideShellOf, guideSqlOf } from '../support/guide-text';
import { useFreshWorkerDatabase } from './fresh-db';

const guideSql = (heading: string) => guideSqlOf(guideMarkdown, heading);
const GUIDE_INTERESTS = [
  '11111111-1111-1111-1111-111111111111',
  '22222222-2222-2222-2222-222222222222',
  '33333333-3333-3333-3333-333333333333',
];

const fresh = useFreshWorkerDatabase();

/** §2F's curl, as written: its URL path, its JSON body, the service key as the bearer. */
function guideWorkerCall(): { path: string; body: unknown } {
  const [curl] = guideShellOf(guideMarkdown, 'F. Run Worker Once');
  const path = /"\$SUPABASE_URL(\/functions\/v1\/[\w-]+)"/.exec(curl!)?.[1];
  const body = /-d '([^']+)'/.exec(curl!)?.[1];
  if (!path || !body) throw new Error('guide §2F has no curl with a path and a -d body');
  return { path, body: JSON.parse(body) };
}

describe('guide §2E–§2G: the user journey', () => {
  it('§2E sets 3 interests, ensures the category, enqueues discovery and the queue is populated', async () => {
    const statements = guideSql('E. Simulate User Journey');
    expect(statements).toHaveLength(5);
    const [users, insert, ensure, enqueue, verify] = statements;

    const userRows = await fresh.db.query<{ id: string }>(users!);
    expect(userRows).toEqual([{ id: GUIDE_TEST_USER, email: 'test-user@example.com' }]);
    await fresh.db.query(insert!);
    const [category] = await fresh.db.query<{ ensure_category_for_interest: string }>(ensure!);
    expect(category!.ensure_category_for_interest).toBe('c0000000-0000-0000-0000-000000000001');
    const [queued] = await fresh.db.query<{ enqueue_discovery_for_user: number }>(enqueue!);
    expect(queued!.enqueue_discovery_for_user).toBe(3);

    const rows = await fresh.db.query<{ interest_id: string; status: string; user_id: string; topic: string }>(verify!);
    expect(rows.map((r) => r.interest_id).sort()).toEqual(GUIDE_INTERESTS);
    expect(rows.every((r) => r.status === 'queued' && r.user_id === GUIDE_TEST_USER && r.topic === 'discovery.user-signup')).toBe(true);
  });

  it('§2F the queue worker over HTTP answers {"processed": N, "errors": 0}', async () => {
    const { path, body } = guideWorkerCall();
    expect(path).toBe('/functions/v1/queue-worker');
    expect(body).toEqual({ topic: 'discovery.user-signup', limit: 20, ttl: 120 });
    // The curl's headers: Content-Type: application/json and the service key as bearer.
    const res = await fresh.fetch(path, { method: 'POST', json: body });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ processed: 3, errors: 0 });
  });

  it('§2G health shows done rows, gaps are recorded and the test user gets at least 3 suggestions', async () => {
    const [health, gaps, suggestions] = guideSql('G. Verify Worker Effects');
    const healthRows = await fresh.db.query<{ status: string; count: string; p95_age_sec: string | null }>(health!);
    expect(healthRows).toHaveLength(1);
    expect(healthRows[0]).toMatchObject({ status: 'done', count: '3' });
    expect(Number(healthRows[0]!.p95_age_sec)).toBeGreaterThanOrEqual(0);

    const gapRows = await fresh.db.query<{ interest_id: string; candidate_count: number; required_count: number; gap: number }>(gaps!);
    // Seeded supply: one candidate per category, min_supply 3 → a gap of 2 for each of the 3 interests.
    expect(gapRows.map((g) => [g.interest_id, g.candidate_count, g.required_count, g.gap]).sort()).toEqual(
      GUIDE_INTERESTS.map((id) => [id, 1, 3, 2]),
    );

    const suggestionRows = await fresh.db.query<{ title: string; interest_id: string }>(suggestions!);
    expect(suggestionRows.length).toBeGreaterThanOrEqual(3);
    expect(suggestionRows.map((s) => s.title)).toEqual(['Ultralight trail backpack', 'Mirrorless starter kit', 'Cast-iron skillet']);
  });

  it('a second §2F call finds nothing left to do', async () => {
    const { path, body } = guideWorkerCall();
    expect((await fresh.fetch(path, { method: 'POST', json: body })).json).toEqual({ processed: 0, errors: 0 });
  });
});
