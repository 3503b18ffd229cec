// RLS from the Worker's side: user-scoped queries run through withUserTransaction (role
// `authenticated` + the caller's claims), so even a handler whose query forgot its WHERE cannot
// read or change another user's rows — through the Neon driver and through a real HTTP route.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, RESOURCES } from '../../src/app';
import { withUserTransaction } from '../../src/db/user-transaction';
import { createRouter, defineRoute } from '../../src/platform/route';
import { BASE, call, type TestDb as Db, readBody, testDb, userToken, withJsonBody } from './support';

// What the driver returns for a statement, as these tests read it.
const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;
const rowCountOf = (result: unknown): number | null => (result as { rowCount: number | null }).rowCount;

/** One request through `app` with a real execution context (background work is awaited). */
async function send(app: ReturnType<typeof createApp>, path: string, init: RequestInit & { json?: unknown } = {}) {
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${path}`, withJsonBody(init), env, ctx);
  await waitOnExecutionContext(ctx);
  const { text, json } = await readBody(res);
  return { res, status: res.status, json, text };
}

const HIKING = '11111111-1111-1111-1111-111111111111';
const PHOTO = '22222222-2222-2222-2222-222222222222';
const TABLES = ['user_interests', 'intent_signals', 'marketplace_discovery_queue', 'learning_events', 'rate_limits'];

let db: Db;
let victim: string;
let attacker: string;

async function seedUser(id: string) {
  await db.query('INSERT INTO auth.users (id) VALUES ($1)', [id]);
  await db.query('INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.9), ($1, $3, 0.4)', [
    id,
    HIKING,
    PHOTO,
  ]);
  await db.query("INSERT INTO public.intent_signals (user_id, kind) VALUES ($1, 'view')", [id]);
  await db.query('INSERT INTO public.marketplace_discovery_queue (user_id, interest_id) VALUES ($1, $2)', [id, HIKING]);
  await db.query("INSERT INTO public.learning_events (user_id, surface, candidate_id, policy) VALUES ($1, 'feed', 'c', 'p')", [id]);
  await db.query("INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, 1000, 60)", [id]);
}

beforeAll(async () => {
  db = testDb();
  victim = crypto.randomUUID();
  attacker = crypto.randomUUID();
  await seedUser(victim);
  await seedUser(attacker);
});
afterAll(async () => {
  await db.query('DELETE FROM auth.users WHERE id = ANY($1)', [[victim, attacker]]);
  await db.end();
});

const victimInterests = () => db.query('SELECT interest_id, affinity FROM public.user_interests WHERE user_id = $1 ORDER BY 1', [victim]);

describe('withUserTransaction', () => {
  it.each(TABLES)("a SELECT * on %s without WHERE returns only the caller's rows", async (table) => {
    const rows = await withUserTransaction(db, { sub: attacker, role: 'authenticated' }, async (tx) =>
      rowsOf<{ user_id: string | null }>(await tx.execute(sql.raw(`SELECT user_id FROM public.${table}`))),
    );
    expect(rows.some((r) => r.user_id === attacker)).toBe(true); // positive control
    expect(rows.filter((r) => r.user_id === victim)).toEqual([]);
  });

  it("an UPDATE and a DELETE without WHERE touch only the caller's rows", async () => {
    const before = await victimInterests();
    const touched = await withUserTransaction(db, { sub: attacker, role: 'authenticated' }, async (tx) => {
      const updated = await tx.execute(sql`UPDATE public.user_interests SET affinity = 0.5`);
      const deleted = await tx.execute(sql`DELETE FROM public.user_interests`);
      return { updated: rowCountOf(updated), deleted: rowCountOf(deleted) };
    });
    expect(touched).toEqual({ updated: 2, deleted: 2 }); // the attacker's own two rows
    expect(await victimInterests()).toEqual(before);
    await db.query(
      'INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.9), ($1, $3, 0.4) ON CONFLICT DO NOTHING',
      [attacker, HIKING, PHOTO],
    );
  });

  it("writing in another user's name fails and rolls the transaction back", async () => {
    await expect(
      withUserTransaction(db, { sub: attacker, role: 'authenticated' }, (tx) =>
        tx.execute(sql`INSERT INTO public.intent_signals (user_id, kind) VALUES (${victim}, 'forged')`),
      ),
    ).rejects.toThrow();
    const forged = await db.query("SELECT 1 FROM public.intent_signals WHERE user_id = $1 AND kind = 'forged'", [victim]);
    expect(forged).toHaveLength(0);
  });
});

describe('through an HTTP route whose queries forgot their WHERE', () => {
  const careless = createRouter();
  defineRoute(
    careless,
    { method: 'get', path: '/v1/__test/careless-interests', access: 'user', responses: { 200: { description: 'ok' } } },
    async (c) => {
      const rows = await withUserTransaction(c.var.unit.db(), { sub: c.get('user')!.id, role: 'authenticated' }, async (tx) =>
        rowsOf(await tx.execute(sql`SELECT user_id, interest_id FROM public.user_interests`)),
      );
      return c.json(rows, 200);
    },
  );
  defineRoute(
    careless,
    { method: 'delete', path: '/v1/__test/careless-interests', access: 'user', responses: { 200: { description: 'ok' } } },
    async (c) => {
      const deleted = await withUserTransaction(c.var.unit.db(), { sub: c.get('user')!.id, role: 'authenticated' }, async (tx) =>
        rowCountOf(await tx.execute(sql`DELETE FROM public.user_interests`)),
      );
      return c.json({ deleted }, 200);
    },
  );
  const app = createApp([...RESOURCES, careless]);

  it('the attacker reads only their own interests and deletes only their own', async () => {
    const headers = { authorization: `Bearer ${await userToken(attacker)}` };
    const read = await send(app, '/v1/__test/careless-interests', { headers });
    expect(read.status).toBe(200);
    expect(read.json.length).toBeGreaterThan(0);
    expect(read.json.every((r: { user_id: string }) => r.user_id === attacker)).toBe(true);
    const before = await victimInterests();
    const del = await send(app, '/v1/__test/careless-interests', { method: 'DELETE', headers });
    expect(del.json).toEqual({ deleted: 2 });
    expect(await victimInterests()).toEqual(before);
    expect(before).toHaveLength(2);
  });

  it('no token: 401 before any query runs', async () => {
    const r = await send(app, '/v1/__test/careless-interests');
    expect(r.status).toBe(401);
  });
});

describe('through the real user routes (/v1/me/*)', () => {
  it("one user's writes and reads never reach another user's rows", async () => {
    const alice = crypto.randomUUID();
    const bob = crypto.randomUUID();
    const as = async (id: string) => ({ authorization: `Bearer ${await userToken(id)}` });
    const put = async (id: string, interests: unknown[]) =>
      call('/v1/me/interests', { method: 'PUT', headers: await as(id), json: { interests } });
    expect(
      (
        await put(alice, [
          { interest_id: HIKING, affinity: 0.9 },
          { interest_id: PHOTO, affinity: 0.3 },
        ])
      ).status,
    ).toBe(200);
    const aliceBefore = await db.query('SELECT interest_id, affinity FROM public.user_interests WHERE user_id = $1 ORDER BY 1', [alice]);
    expect(aliceBefore).toHaveLength(2);

    // Bob replaces HIS set (the route deletes what is not listed): Alice keeps hers.
    expect((await put(bob, [{ interest_id: PHOTO, affinity: 0.5 }])).status).toBe(200);
    expect((await put(bob, [])).status).toBe(200);
    expect(await db.query('SELECT interest_id, affinity FROM public.user_interests WHERE user_id = $1 ORDER BY 1', [alice])).toEqual(
      aliceBefore,
    );

    // Bob reads only his own (none now), and a user_id smuggled into the body is refused.
    const bobView = await call('/v1/me/interests', { headers: await as(bob) });
    expect(bobView.json.interests).toEqual([]);
    const smuggled = await call('/v1/me/interests', { method: 'PUT', headers: await as(bob), json: { user_id: alice, interests: [] } });
    expect(smuggled.status).toBe(400);
    await db.query('DELETE FROM auth.users WHERE id = ANY($1)', [[alice, bob]]);
  });
});
