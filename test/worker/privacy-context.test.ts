// Only what may be kept is logged: a rank request's `context` reaches learning_events with the
// surface's allowlisted keys (public.rank_context_policies → KV LIMITS → isolate memory) and scalar
// values only; every other key serves the request and is dropped in the Worker. The rank path reads
// the allowlist from KV, never from Postgres, and logs nothing until it has one.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetFlagCache } from '../../src/flags';
import worker from '../../src/index';
import { CONTEXT_KEYS_KV_KEY, loggedContext, resetContextPolicyCache } from '../../src/privacy/context-policy';
import { useFreshWorkerDatabase } from './fresh-db';
import { runCron, setRankFlags, waitFor } from './learning-support';
import { BASE, call, serviceHeaders, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());
const fresh = useFreshWorkerDatabase();

const OWN = `ctx-own-${crypto.randomUUID().slice(0, 8)}`;
const sync = async () => expect((await call('/admin/context-keys/sync', { method: 'POST', headers: serviceHeaders() })).status).toBe(200);

beforeAll(async () => {
  await setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0.2 } });
  await db.query(`INSERT INTO public.rank_context_policies (surface, logged_keys, updated_by) VALUES ($1, '{page,locale}', 'test')`, [OWN]);
});
afterAll(() => db.query('DELETE FROM public.rank_context_policies WHERE surface = $1', [OWN]));
beforeEach(() => resetContextPolicyCache());

/** Rank once and return the context learning_events holds for the decision. */
async function loggedFor(surface: string, context: Record<string, unknown>): Promise<unknown> {
  const res = await call('/v1/rank', {
    method: 'POST',
    headers: await userHeaders(crypto.randomUUID()),
    json: { surface, limit: 1, candidates: [{ id: 'a' }, { id: 'b' }], context },
  });
  expect(res.status).toBe(200);
  expect(res.json.logged).toBe(true);
  const [row] = await waitFor(async () => {
    const r = await db.query<{ context: unknown }>('SELECT context FROM public.learning_events WHERE decision_id = $1', [
      res.json.decision_id,
    ]);
    return r.length === 1 && r;
  }, 'the learning event');
  return row!.context;
}

const PERSONAL = { email: 'someone@example.test', lat: 52.52, lon: 13.4, user_agent: 'Mozilla/5.0' };

describe('logged rank context', () => {
  it('keeps the default allowlist (locale, platform, app_version) with scalar values, and drops everything else', async () => {
    await sync();
    const context = await loggedFor(`ctx-default-${crypto.randomUUID().slice(0, 8)}`, {
      ...PERSONAL,
      locale: 'de-DE',
      platform: { os: 'ios' }, // not a scalar: dropped
      app_version: 'x'.repeat(129), // longer than a logged string may be: dropped
    });
    expect(context).toEqual({ locale: 'de-DE' });
    expect(
      await loggedFor(`ctx-default-${crypto.randomUUID().slice(0, 8)}`, {
        ...PERSONAL,
        platform: 'android',
        app_version: '4.2.0',
        locale: 'fr',
      }),
    ).toEqual({ platform: 'android', app_version: '4.2.0', locale: 'fr' });
  });

  it('a surface with its own row logs its keys instead of the default', async () => {
    await sync();
    expect(await loggedFor(OWN, { ...PERSONAL, page: 'home', locale: 'en', platform: 'web' })).toEqual({ page: 'home', locale: 'en' });
    const keys = await call('/admin/context-keys', { headers: serviceHeaders() });
    expect(keys.status).toBe(200);
    expect(keys.json.database.surfaces[OWN]).toEqual(['locale', 'page']);
    expect(keys.json.edge.surfaces[OWN]).toEqual(['locale', 'page']);
    expect(keys.json.edge.default).toEqual(['app_version', 'locale', 'platform']);
  });

  it('fails closed: an isolate that has not read the allowlist from KV logs no context key', async () => {
    await env.LIMITS.delete(CONTEXT_KEYS_KV_KEY);
    expect(await loggedFor(OWN, { page: 'home', locale: 'en', ...PERSONAL })).toEqual({});
    // The per-minute cron fills KV again; the next isolate (memory reset) logs the allowlist.
    await runCron('* * * * *');
    resetContextPolicyCache();
    expect(await loggedFor(OWN, { page: 'home', ...PERSONAL })).toEqual({ page: 'home' });
  });

  it('the rank path reads the allowlist from KV with no Postgres connection', async () => {
    // Count every connection the Worker opens to a private database (PostgreSQL 17 login trigger).
    await fresh.db.pool.query(`
      CREATE TABLE public.test_logins (id bigint GENERATED ALWAYS AS IDENTITY, app text);
      CREATE FUNCTION public.test_count_login() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.test_logins (app) VALUES (current_setting('application_name')); END $$;
      CREATE EVENT TRIGGER test_count_login ON login EXECUTE FUNCTION public.test_count_login();`);
    const url = new URL(fresh.env.DATABASE_URL);
    url.searchParams.set('application_name', 'privacy-rank-path');
    const rankEnv = { ...fresh.env, DATABASE_URL: url.toString() } as Env;
    const logins = async () =>
      Number((await fresh.db.query<{ n: string }>("SELECT count(*) AS n FROM public.test_logins WHERE app = 'privacy-rank-path'"))[0]!.n);
    // The per-minute sync (flags and context keys) against that database fills KV.
    const cron = await fresh.fetch('/admin/context-keys/sync', { method: 'POST' });
    expect(cron.status).toBe(200);
    await setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0.2 } });
    await runCron('* * * * *'); // flag-sync: every flag in KV, so the flags need no Postgres either

    resetContextPolicyCache(); // a cold isolate: memory empty, KV read
    resetFlagCache();
    const before = await logins();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/rank`, {
        method: 'POST',
        headers: { ...(await userHeaders(crypto.randomUUID())), 'content-type': 'application/json' },
        body: JSON.stringify({ surface: 'ctx-hot', limit: 1, candidates: [{ id: 'a' }], context: { locale: 'pt', ...PERSONAL } }),
      }),
      rankEnv,
      ctx,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { decision_id: string };
    await waitOnExecutionContext(ctx);
    expect(await logins()).toBe(before);
    // The event (written by the EVENTS consumer into the shared database) has the allowlisted key only.
    const [row] = await waitFor(async () => {
      const r = await db.query<{ context: unknown }>('SELECT context FROM public.learning_events WHERE decision_id = $1', [
        body.decision_id,
      ]);
      return r.length === 1 && r;
    }, 'the learning event');
    expect(row!.context).toEqual({ locale: 'pt' });

    // The counter works: the admin view reads the table, so it connects.
    const admin = createExecutionContext();
    const viaAdmin = await worker.fetch(new Request(`${BASE}/admin/context-keys`, { headers: serviceHeaders() }), rankEnv, admin);
    expect(viaAdmin.status).toBe(200);
    await waitOnExecutionContext(admin);
    expect(await logins()).toBeGreaterThan(before);
  });

  it('loggedContext() counts what it drops, and the OpenAPI description of context says so', async () => {
    const config = { default: ['locale'], surfaces: { s: ['page'] }, loadedAt: 'now' };
    expect(loggedContext(config, 'other', { locale: 'x', page: 'p', n: [1] })).toEqual({ context: { locale: 'x' }, dropped: 2 });
    expect(loggedContext(config, 's', { locale: 'x', page: 3 })).toEqual({ context: { page: 3 }, dropped: 1 });
    expect(loggedContext(config, 's', undefined)).toEqual({ context: {}, dropped: 0 });
    const doc = await call('/openapi.json');
    const schema =
      doc.json.components.schemas.RankRequest ?? doc.json.paths['/v1/rank'].post.requestBody.content['application/json'].schema;
    expect(schema.properties.context.description).toMatch(/allowlisted for the surface[\s\S]*dropped before the event leaves/);
  });
});
