// Issue 14: the limiter at a constant cost per caller and closed under overload.
//   - storage does not grow with the limit; writes are at most one per object and second;
//   - an object killed or stalled mid-load never lets more through than the fallback budget, and a
//     restarted one never over-admits (the fallback's admissions are charged to it afterwards);
//   - anonymous callers meet Cloudflare's native rate-limiting binding (Miniflare runs it locally:
//     a fixed window per key, as in production per location), never a Durable Object;
//   - every fallback decision is counted ('ratelimit.fallback'), the alert metric sees it and the
//     dashboard shows it.
import { env, runInDurableObject } from 'cloudflare:test';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ANON_LIMIT } from '../../src/ratelimit/anonymous';
import { syncLimits } from '../../src/ratelimit/config';
import { fallbackBudget, resetFallback } from '../../src/ratelimit/fallback';
import { MIN_WRITE_INTERVAL_MS } from '../../src/ratelimit/limiter-api';
import { resetPermits } from '../../src/ratelimit/permits';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter';
import { gateApp, send } from './gate-support';
import { eventually, rollupTotals } from './slo-support';
import { call, type TestDb as Db, serviceHeaders, testDb, userToken } from './support';

const app = gateApp();
const db: Db = testDb();
const uuid = () => crypto.randomUUID();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stubFor = (name: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name)) as DurableObjectStub<RateLimiter>;
const rules: string[] = [];

afterEach(() => {
  resetPermits();
  resetFallback();
});
afterAll(async () => {
  await db.query('DELETE FROM public.alert_rules WHERE id = ANY($1)', [rules]);
  await db.end();
});

async function userWithLimit(max: number, windowSeconds: number) {
  const id = uuid();
  await db.query('INSERT INTO auth.users (id) VALUES ($1)', [id]);
  await db.query(`INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, $2, $3)`, [
    id,
    max,
    windowSeconds,
  ]);
  await syncLimits(env, db);
  return { id, headers: { authorization: `Bearer ${await userToken(id)}` } };
}

/** The object's own tables and rows (SQLite-internal _cf_ tables excluded). */
async function storageOf(name: string) {
  return runInDurableObject(stubFor(name), (_i, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'")
      .toArray()
      .map((t) => t.name);
    const rows = tables.reduce((n, t) => n + state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${t}"`).one().n, 0);
    const counts = tables.includes('limiter_buckets')
      ? state.storage.sql.exec<{ counts: string }>('SELECT counts FROM limiter_buckets').toArray()
      : [];
    return { tables, rows, countsBytes: counts.reduce((n, r) => n + r.counts.length, 0), bytes: state.storage.sql.databaseSize };
  });
}

describe('constant cost per subject', () => {
  it('a 1,000,000/min override uses the same storage as a 10/min one after 5,000 requests', async () => {
    const storage = [];
    for (const max of [1_000_000, 10]) {
      const name = `test:${uuid()}`;
      let admitted = 0;
      for (let sent = 0; sent < 5_000; sent += 100) {
        const batch = await Promise.all(
          Array.from({ length: 100 }, () => stubFor(name).check({ bucket: 'user', limit: max, windowSec: 60 })),
        );
        admitted += batch.filter((d) => d.allowed).length;
      }
      expect(admitted).toBe(Math.min(max, 5_000));
      storage.push(await storageOf(name));
    }
    const [big, small] = storage;
    expect(big!.tables).toEqual(['limiter_buckets']);
    expect(big!.rows).toBe(1);
    expect(small!.rows).toBe(big!.rows);
    expect(small!.bytes).toBe(big!.bytes);
    // One (slot, count) pair per second at most: 61 pairs for a minute, whatever the limit.
    expect(big!.countsBytes).toBeLessThan(61 * 24);
  });

  it('writes at most once per second per object, however many requests', async () => {
    const name = `test:${uuid()}`;
    const started = Date.now();
    let decisions = 0;
    while (Date.now() - started < 3_000) {
      await Promise.all(Array.from({ length: 50 }, () => stubFor(name).check({ bucket: 'user', limit: 6_000, windowSec: 60 })));
      decisions += 50;
    }
    const elapsed = Date.now() - started;
    const stats = await stubFor(name).stats();
    expect(decisions).toBeGreaterThan(300);
    // Claims ran out more than once (so the interval was exercised), but never faster than 1/s.
    expect(stats.writes).toBeGreaterThanOrEqual(2);
    expect(stats.writes).toBeLessThanOrEqual(Math.floor(elapsed / MIN_WRITE_INTERVAL_MS) + 1);
  });
});

describe('closed under overload', () => {
  it('an object stalled mid-load: only the fallback budget gets through, then it is charged to the object', async () => {
    const L = 200;
    const user = await userWithLimit(L, 3600);
    const name = `user:${user.id}`;
    const before = await rollupTotals(db, 'ratelimit.fallback');
    let admitted = 0;
    for (let i = 0; i < 50; i++) if ((await send(app, '/v1/__test/me', { headers: user.headers })).status === 200) admitted++;
    expect(admitted).toBe(50);

    // The object stops answering for 3 s (a test hook only reachable through runInDurableObject).
    await runInDurableObject(stubFor(name), (instance) => {
      (instance as unknown as { stall: Promise<void> | null }).stall = new Promise((resolve) => setTimeout(resolve, 3_000));
    });
    const budget = fallbackBudget({ max: L, windowSec: 3600 });
    const during = [];
    for (let i = 0; i < 60; i++) during.push(await send(app, '/v1/__test/me', { headers: user.headers }));
    const fallbackAdmitted = during.filter((r) => r.status === 200).length;
    expect(fallbackAdmitted).toBe(budget);
    expect(during.filter((r) => r.status === 429)).toHaveLength(60 - budget);
    expect(during.every((r) => r.headers.get('ratelimit-limit') === String(budget))).toBe(true);
    admitted += fallbackAdmitted;

    // Object back, breaker closed: it is charged the fallback's admissions, so the window still
    // never holds more than L in all.
    await sleep(5_100);
    for (let i = 0; i < 250; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => send(app, '/v1/__test/me', { headers: user.headers })));
      admitted += batch.filter((r) => r.status === 200).length;
      expect(batch.every((r) => r.headers.get('ratelimit-limit') === String(L))).toBe(true);
    }
    expect(admitted).toBeLessThanOrEqual(L);

    const after = await eventually(
      async () => {
        const t = await rollupTotals(db, 'ratelimit.fallback');
        return t.requests - before.requests >= 60 ? t : undefined;
      },
      20_000,
      '60 fallback decisions in request_metrics_minute',
    );
    // Other tests of the shared database may add their own fallback decisions: at least ours.
    expect(after.errors - before.errors).toBeGreaterThanOrEqual(60 - budget);
  }, 60_000);

  it('an object killed mid-load (a restart): no over-admission, before or after', async () => {
    const L = 100;
    const user = await userWithLimit(L, 3600);
    const name = `user:${user.id}`;
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; i < 8; i++) {
        const batch = await Promise.all(Array.from({ length: 20 }, () => send(app, '/v1/__test/me', { headers: user.headers })));
        statuses.push(...batch.map((r) => r.status));
      }
    })();
    await sleep(300);
    await runInDurableObject(stubFor(name), (_i, state) => state.abort('test: killed mid-load')).catch(() => undefined);
    await load;
    await sleep(5_100); // any breaker opened by the kill closes
    for (let i = 0; i < 3; i++) {
      const batch = await Promise.all(Array.from({ length: 40 }, () => send(app, '/v1/__test/me', { headers: user.headers })));
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses.slice(0, 20).filter((s) => s === 200).length).toBeGreaterThan(0); // the load was admitted until the kill
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(L);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  }, 60_000);
});

describe('anonymous callers: the native rate-limiting binding', () => {
  /** A RateLimiter namespace that records any use: anonymous requests must never touch it. */
  function untouchable() {
    const used: string[] = [];
    const ns = {
      idFromName: (n: string) => {
        used.push(n);
        return env.RATE_LIMITER.idFromName(n);
      },
      get: () => {
        throw new Error('no Durable Object for anonymous callers');
      },
    } as unknown as Env['RATE_LIMITER'];
    return { ns, used };
  }

  it('limits per class and address with no object; failed logins and 404s count', async () => {
    // The binding counts fixed windows of 60 s, so every request of one attempt must fall in one
    // window: start with room to finish in it, and if a slow machine still crossed the boundary
    // (the counts were then split over two windows), start again with a fresh address.
    const { ns, used } = untouchable();
    const windowOf = (t: number) => Math.floor(t / 60_000);
    for (let attempt = 1; ; attempt++) {
      if (Date.now() % 60_000 > 25_000) await sleep(60_000 - (Date.now() % 60_000) + 100);
      const startedIn = windowOf(Date.now());
      const ip = { 'cf-connecting-ip': `203.0.113.${Math.floor(Math.random() * 250)}` };
      const statuses: number[] = [];
      // The bulk goes to a path that touches no database (a 404): /health's own database check
      // answers 503 when Postgres is slow, which is not what this test is about.
      for (let i = 0; i < ANON_LIMIT.max - 2; i += 50) {
        const n = Math.min(50, ANON_LIMIT.max - 2 - i);
        const batch = await Promise.all(Array.from({ length: n }, () => send(app, '/nope', { headers: ip }, { RATE_LIMITER: ns })));
        statuses.push(...batch.map((r) => r.status));
      }
      const unauthenticated = await send(app, '/v1/__test/me', { headers: ip }, { RATE_LIMITER: ns });
      const lastAdmitted = await send(app, '/openapi.json', { headers: ip }, { RATE_LIMITER: ns });
      const refused = await send(app, '/health', { headers: ip }, { RATE_LIMITER: ns });
      if (windowOf(Date.now()) !== startedIn && attempt < 3) continue;
      expect(statuses).toEqual(Array(ANON_LIMIT.max - 2).fill(404));
      expect(unauthenticated.status).toBe(401);
      expect(lastAdmitted.status).toBe(200);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe(String(ANON_LIMIT.windowSec));
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.headers.get('ratelimit-limit')).toBe(String(ANON_LIMIT.max));
      break;
    }
    // Another address has its own counter; no object was ever asked for.
    const other = await send(app, '/health', { headers: { 'cf-connecting-ip': '2001:db8:14::1' } }, { RATE_LIMITER: ns });
    expect(other.status).toBe(200);
    expect(used).toEqual([]);
  }, 300_000);

  it('when the binding fails, the fallback decides (a tenth per address), counted and alerted on', async () => {
    const failing = { limit: () => Promise.reject(new Error('rate limiting unavailable')) } as unknown as RateLimit;
    const ip = { 'cf-connecting-ip': `192.0.2.${Math.floor(Math.random() * 250)}` };
    const budget = fallbackBudget(ANON_LIMIT);
    const before = await rollupTotals(db, 'ratelimit.fallback');
    const seen = [];
    for (let i = 0; i < budget + 3; i++) seen.push(await send(app, '/health', { headers: ip }, { ANON_RATE_LIMITER: failing }));
    expect(seen.slice(0, budget).every((r) => r.status === 200)).toBe(true);
    expect(seen.slice(budget).map((r) => r.status)).toEqual([429, 429, 429]);
    expect(seen[0]!.headers.get('ratelimit-limit')).toBe(String(budget));
    await eventually(
      async () => (await rollupTotals(db, 'ratelimit.fallback')).requests - before.requests >= budget + 3,
      20_000,
      'the fallback decisions in request_metrics_minute',
    );

    // The alert metric sees them (a rule of this test only, so the seeded one's state is untouched).
    const id = `t_${uuid().replace(/-/g, '').slice(0, 20)}`;
    rules.push(id);
    await db.query(
      `INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity, action)
       VALUES ($1, 'test rule', 'ratelimit.fallback_share', 'all', '>', 0, 0, $2, 'ticket', 'notify')`,
      [id, budget + 3],
    );
    const res = await call('/admin/alerts/evaluate', {
      method: 'POST',
      headers: serviceHeaders(),
      json: { rule_ids: [id], at: new Date().toISOString() },
    });
    expect(res.status).toBe(200);
    expect(res.json.transitions).toMatchObject([{ rule_id: id, to: 'firing' }]);
    expect(res.json.transitions[0].value).toBeGreaterThan(0);

    // The dashboard's SLO panel shows the last hour's fallback decisions instead of "exact".
    const dashboard = await call('/admin/dashboard', { headers: serviceHeaders() });
    expect(dashboard.status).toBe(200);
    const line = /<p data-ratelimit-fallback[^>]*>([\s\S]*?)<\/p>/.exec(dashboard.text)?.[1] ?? '';
    expect(line).toMatch(/\d+ decisions by the per-isolate fallback \(\d+ refused\)/);
    expect(line).not.toContain('exact');

    const seeded = await call('/admin/alert-rules', { headers: serviceHeaders() });
    const rule = seeded.json.rules.find((r: { id: string }) => r.id === 'ratelimit_fallback');
    expect(rule).toMatchObject({ metric: 'ratelimit.fallback_share', subject: 'all', threshold: 0.01, for_seconds: 300 });
  });
});
