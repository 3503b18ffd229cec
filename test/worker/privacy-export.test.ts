// GET /v1/me/export and GET /admin/users/{id}/export: one JSON document, the large parts in
// bounded pages walked with next_cursor until every row was seen exactly once, in order; only the
// user's own rows; cursors that are not ours are a 400, not a 500. A private database: the rows
// seeded here must not meet other files' crons, nor theirs this file's pages.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { EXPORT_FORMAT } from '../../src/privacy/export';
import { useFreshWorkerDatabase } from './fresh-db';
import { BASE, envelope, readBody, serviceHeaders, call as sharedCall, userToken, withJsonBody } from './support';

const fresh = useFreshWorkerDatabase();
/** The Worker against the private database; the body is read before waiting on the context (it streams). */
async function call(path: string, init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, withJsonBody({ ...init, headers: init.headers ?? {} })), fresh.env, ctx);
  const body = await readBody(res);
  await waitOnExecutionContext(ctx);
  return { status: res.status, json: body.json };
}

const HIKING = '11111111-1111-1111-1111-111111111111';
const user = crypto.randomUUID();
const other = crypto.randomUUID();
let auth: Record<string, string>;
const SIGNALS = 5;
const EVENTS = 7;
const REWARDS = 3;

async function seed(id: string, tag: string, firstEventId: number) {
  // One single-item slate per row, as the EVENTS consumer writes them (the rollup reads them too).
  // Explicit ids that cross a digit boundary: paging must follow the number, not its text.
  await fresh.db.query(
    `INSERT INTO public.learning_events (id, user_id, surface, candidate_id, policy, decision_id, "position", score, p_exp, explored, context)
     OVERRIDING SYSTEM VALUE
     SELECT $4::bigint + g - 1, $1, 'export', $2 || '-' || g, 'epsilon_greedy_v1', gen_random_uuid(), 0, 0, 1, false,
            jsonb_build_object('locale', 'de')
       FROM generate_series(1, $3) g`,
    [id, tag, EVENTS, firstEventId],
  );
  await fresh.db.query(
    `INSERT INTO public.learning_rewards (decision_id, candidate_id, user_id, reward)
     SELECT gen_random_uuid(), $2 || '-' || g, $1, g FROM generate_series(1, $3) g`,
    [id, tag, REWARDS],
  );
}

beforeAll(async () => {
  auth = { authorization: `Bearer ${await userToken(user, { email: `export-${user}@example.test` })}` };
  const put = await call('/v1/me/interests', {
    method: 'PUT',
    headers: auth,
    json: { interests: [{ interest_id: HIKING, affinity: 0.7 }] },
  });
  expect(put.status).toBe(200);
  const signals = Array.from({ length: SIGNALS }, (_, i) => ({ kind: 'view', strength: (i + 1) / 10 }));
  expect((await call('/v1/me/signals', { method: 'POST', headers: auth, json: { signals } })).status).toBe(201);
  await seed(user, 'mine', 9_999_997); // 9999997 … 10000003
  // Someone else's rows must never appear in this user's export.
  await fresh.db.query('INSERT INTO auth.users (id) VALUES ($1)', [other]);
  await seed(other, 'theirs', 20_000_000);
});

/** Every item of one part, following next_cursor from the first page. */
async function walk(first: { items: unknown[]; next_cursor: string | null }, path: string, headers: Record<string, string>, limit: number) {
  const items = [...first.items];
  let pages = 1;
  let cursor = first.next_cursor;
  while (cursor) {
    const page = await call(`${path}?limit=${limit}&cursor=${encodeURIComponent(cursor)}`, { headers });
    expect(page.status).toBe(200);
    expect(page.json.complete).toBe(true);
    expect(page.json.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.json.items);
    cursor = page.json.next_cursor;
    pages++;
  }
  return { items, pages };
}

describe('export', () => {
  it('returns every item, in bounded pages, and only the caller’s', async () => {
    const res = await call('/v1/me/export?limit=2', { headers: auth });
    expect(res.status).toBe(200);
    const doc = res.json;
    expect(doc).toMatchObject({
      format: EXPORT_FORMAT,
      user_id: user,
      user: { id: user, email: `export-${user}@example.test` },
      erasure: null,
      complete: true,
    });
    expect(doc.interests).toEqual([expect.objectContaining({ interest_id: HIKING, affinity: 0.7 })]);
    expect(doc.limit_overrides).toEqual([]);
    expect(Array.isArray(doc.suggestions)).toBe(true);
    for (const part of ['signals', 'learning_events', 'rewards', 'discovery_jobs'])
      expect(doc[part].items.length, part).toBeLessThanOrEqual(2);

    const signals = await walk(doc.signals, '/v1/me/export', auth, 2);
    expect(signals.pages).toBe(3);
    expect(signals.items.map((s: any) => s.strength)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    const events = await walk(doc.learning_events, '/v1/me/export', auth, 2);
    expect(events.pages).toBe(4);
    const candidates = events.items.map((e: any) => e.candidate_id);
    expect(new Set(candidates).size).toBe(EVENTS);
    expect(candidates.every((c: string) => c.startsWith('mine-'))).toBe(true);
    // All seven share one timestamp (one INSERT): the (ts, id) keyset still yields each once, in id order.
    expect(new Set(events.items.map((e: any) => e.ts)).size).toBe(1);
    expect(events.items.map((e: any) => e.id)).toEqual(Array.from({ length: EVENTS }, (_, i) => String(9_999_997 + i)));
    const rewards = await walk(doc.rewards, '/v1/me/export', auth, 2);
    expect(rewards.items.map((r: any) => r.reward).sort()).toEqual([1, 2, 3]);
    expect(rewards.items.every((r: any) => r.candidate_id.startsWith('mine-'))).toBe(true);
    const jobs = await walk(doc.discovery_jobs, '/v1/me/export', auth, 2);
    expect(jobs.items).toEqual([expect.objectContaining({ interest_id: HIKING })]);
    expect(JSON.stringify(doc)).not.toContain(other);
  });

  it('?part= starts one part; the operator route exports the same user', async () => {
    const part = await call(`/admin/users/${user}/export?part=rewards&limit=1000`, { headers: serviceHeaders() });
    expect(part.status).toBe(200);
    expect(part.json).toMatchObject({ user_id: user, part: 'rewards', next_cursor: null, complete: true });
    expect(part.json.items).toHaveLength(REWARDS);
    expect(part.json).not.toHaveProperty('interests');
    const whole = await call(`/admin/users/${user.toUpperCase()}/export`, { headers: serviceHeaders() });
    expect(whole.status).toBe(200);
    expect(whole.json.learning_events.items).toHaveLength(EVENTS);
  });

  it('answers 400 for a cursor that is not ours, a cursor of another part, or a page too large; 401/403 without the right caller', async () => {
    const bad = await call('/v1/me/export?cursor=not-a-cursor', { headers: auth });
    expect(bad.status).toBe(400);
    expect(envelope(bad.json).code).toBe('bad_request');
    const first = await call('/v1/me/export?part=signals&limit=1', { headers: auth });
    const mismatch = await call(`/v1/me/export?part=rewards&cursor=${encodeURIComponent(first.json.next_cursor)}`, { headers: auth });
    expect(mismatch.status).toBe(400);
    // Well-formed cursors whose keys are not a row key of their part (they would fail a cast in SQL).
    const forge = (c: unknown) => btoa(JSON.stringify(c)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    for (const forged of [
      { p: 'signals', k: ['yesterday', '1'] },
      { p: 'learning_events', k: ['2026-01-01T00:00:00.000000Z', 'x'] },
      { p: 'discovery_jobs', k: ['not-a-uuid'] },
    ]) {
      const res = await call(`/v1/me/export?cursor=${forge(forged)}`, { headers: auth });
      expect(res.status, JSON.stringify(forged)).toBe(400);
    }
    expect((await call('/v1/me/export?limit=1001', { headers: auth })).status).toBe(400);
    expect((await call('/v1/me/export?part=secrets', { headers: auth })).status).toBe(400);
    expect((await sharedCall('/v1/me/export')).status).toBe(401); // no credentials at all
    expect((await call(`/admin/users/${user}/export`, { headers: auth })).status).toBe(403);
  });
});
