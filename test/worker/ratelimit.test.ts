// Rate limits: the Durable Object's decisions (exact under concurrency, sliding window, restart,
// cleanup), limits read from public.rate_limits with per-user overrides, the headers and the 429
// envelope, and the documented policy when the limiter is unreachable (fallback or 503). Overload,
// storage cost and the anonymous binding: ratelimit-overload.test.ts.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger';
import { getLimits, LIMITS_KV_KEY, limitFor, loadLimitsFromDb, resetLimitsCache, syncLimits } from '../../src/ratelimit/config';
import { fallbackBudget, resetFallback } from '../../src/ratelimit/fallback';
import { resetPermits } from '../../src/ratelimit/permits';
import type { RateLimiter } from '../../src/ratelimit/rate-limiter';
import { gateApp, send } from './gate-support';
import { type TestDb as Db, envelope, testDb, userToken } from './support';

const app = gateApp();
const uuid = () => crypto.randomUUID();
const stubFor = (name: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name)) as DurableObjectStub<RateLimiter>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: Db;
beforeAll(() => {
  db = testDb();
});
afterAll(async () => {
  await db.end();
});

/** A user with a per-user override for the user class, pushed to the edge like the cron does. */
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

describe('RateLimiter Durable Object', () => {
  it('admits exactly `limit` of 200 concurrent requests (no over-admission)', async () => {
    const stub = stubFor(`test:${uuid()}`);
    const decisions = await Promise.all(Array.from({ length: 200 }, () => stub.check({ bucket: 'user', limit: 100, windowSec: 3600 })));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.remaining === 0 && d.retryAfterSec > 0)).toBe(true);
  });

  it('is a sliding window: capacity returns as old requests leave it, denials are not counted', async () => {
    const stub = stubFor(`test:${uuid()}`);
    const check = () => stub.check({ bucket: 'b', limit: 2, windowSec: 1 });
    expect((await check()).allowed).toBe(true);
    expect((await check()).allowed).toBe(true);
    const denied = await check();
    // Room comes back when the oldest counted slot (17 ms here) has left the window: after 1 s
    // and up to one slot more, so whole-second Retry-After is 1 or 2.
    expect(denied).toMatchObject({ allowed: false, remaining: 0 });
    expect([1, 2]).toContain(denied.retryAfterSec);
    await sleep(1_100);
    const again = await check();
    expect(again).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('keeps buckets of one subject apart', async () => {
    const stub = stubFor(`test:${uuid()}`);
    expect((await stub.check({ bucket: 'a', limit: 1, windowSec: 60 })).allowed).toBe(true);
    expect((await stub.check({ bucket: 'a', limit: 1, windowSec: 60 })).allowed).toBe(false);
    expect((await stub.check({ bucket: 'b', limit: 1, windowSec: 60 })).allowed).toBe(true);
  });

  it('a restarted object never over-admits: it counts its last claim as spent (under-admits by at most that claim)', async () => {
    const name = `test:${uuid()}`;
    const limit = { bucket: 'x', limit: 40, windowSec: 3600 };
    let admitted = 0;
    for (let i = 0; i < 10; i++) if ((await stubFor(name).check(limit)).allowed) admitted++;
    expect(admitted).toBe(10);
    // What is on disk: the counts at the last write and the claim made then (10 admissions needed
    // one write: nothing is written per request).
    const stored = await runInDurableObject(stubFor(name), (_i, state) =>
      state.storage.sql.exec<{ counts: string; claim: number }>('SELECT counts, claim FROM limiter_buckets').one(),
    );
    const storedCount = (JSON.parse(stored.counts) as [number, number][]).reduce((n, [, c]) => n + c, 0);
    expect(storedCount + stored.claim).toBeGreaterThanOrEqual(10);
    // Kill it (a deploy or a crash): the next call builds a new instance from storage alone.
    await runInDurableObject(stubFor(name), (_i, state) => state.abort('test: restart')).catch(() => undefined);
    const after = await stubFor(name).peek('x', 3600, 40);
    expect(after.remaining).toBe(40 - storedCount - stored.claim);
    // However hard it is pushed now, the window never holds more than 40.
    const more = await Promise.all(Array.from({ length: 60 }, () => stubFor(name).check(limit)));
    admitted += more.filter((d) => d.allowed).length;
    expect(admitted).toBeLessThanOrEqual(40);
    expect(admitted).toBeGreaterThanOrEqual(40 - stored.claim);
  });

  it('leases: granted permits count at once; settling gives back what was not spent', async () => {
    const stub = stubFor(`test:${uuid()}`);
    const req = { bucket: 'user', limit: 100, windowSec: 60 };
    const lease = await stub.acquire({ ...req, want: 10 });
    expect(lease).toMatchObject({ granted: 10, remaining: 90 });
    expect(lease.validMs).toBeGreaterThan(0);
    // Another isolate meanwhile sees the permits as spent: no over-admission possible.
    expect((await stub.peek('user', 60, 100)).remaining).toBe(90);
    // 3 spent in the first slot after sending, 7 never: the 7 come back.
    const settle = {
      incarnation: lease.incarnation,
      slot: lease.slot,
      slotMs: lease.slotMs,
      grantAt: lease.grantAt,
      granted: 10,
      spends: [3],
    };
    const next = await stub.acquire({ ...req, want: 1, settle });
    expect(next).toMatchObject({ granted: 1, remaining: 96 });
    // A settlement of another incarnation (a restarted object) is ignored: nothing comes back.
    const stale = await stub.acquire({ ...req, want: 1, settle: { ...settle, incarnation: 'another' } });
    expect(stale.remaining).toBe(95);
  });

  it('an alarm deletes idle state so an idle key costs nothing', async () => {
    const stub = stubFor(`test:${uuid()}`);
    await stub.check({ bucket: 'short', limit: 5, windowSec: 1 });
    const pending = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(pending).not.toBeNull();
    await sleep(1_100);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const tables = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'")
        .toArray(),
    );
    expect(tables).toEqual([]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    // And it still works afterwards.
    expect((await stub.check({ bucket: 'short', limit: 5, windowSec: 1 })).remaining).toBe(4);
  });

  it('an alarm keeps live buckets and reschedules itself', async () => {
    const stub = stubFor(`test:${uuid()}`);
    await stub.check({ bucket: 'short', limit: 5, windowSec: 1 });
    await stub.check({ bucket: 'long', limit: 5, windowSec: 3600 });
    await sleep(1_100);
    await runDurableObjectAlarm(stub);
    const rows = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ bucket: string }>('SELECT bucket FROM limiter_buckets')
        .toArray()
        .map((r) => r.bucket),
    );
    expect(rows).toEqual(['long']);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
  });
});

describe('limits come from public.rate_limits', () => {
  it('loads the seeded class defaults and per-user overrides', async () => {
    const { id } = await userWithLimit(7, 30);
    const config = await loadLimitsFromDb(db);
    expect(config.defaults).toMatchObject({
      anon: { max: 300, windowSec: 60 },
      user: { max: 600, windowSec: 60 },
      admin_read: { max: 6000, windowSec: 60 },
      admin_write: { max: 300, windowSec: 60 },
      job: { max: 120, windowSec: 60 },
    });
    expect(limitFor(config, 'user', id)).toEqual({ max: 7, windowSec: 30, source: 'override' });
    expect(limitFor(config, 'admin_read', id)).toMatchObject({ max: 6000, source: 'default' });
    expect(limitFor(config, 'user', uuid())).toMatchObject({ max: 600, source: 'default' });
  });

  it('reads KV when its memory is stale; with KV empty it serves the fallback and refills KV from Postgres', async () => {
    const log = createLogger({ test: true });
    const background: Promise<unknown>[] = [];
    const source = {
      env,
      log,
      background: (p: Promise<unknown>) => void background.push(p),
      withDb: <T>(fn: (d: Db) => Promise<T>) => fn(db),
    };
    await env.LIMITS.delete(LIMITS_KV_KEY);
    resetLimitsCache();
    const cold = await getLimits(source);
    expect(cold.loadedAt).toBe('fallback');
    await Promise.all(background);
    const stored = await env.LIMITS.get<any>(LIMITS_KV_KEY, 'json');
    expect(stored.defaults.user).toEqual({ max: 600, windowSec: 60 });

    // A stale isolate reads KV (not Postgres): a value only KV has proves it.
    await env.LIMITS.put(LIMITS_KV_KEY, JSON.stringify({ ...stored, defaults: { ...stored.defaults, job: { max: 5, windowSec: 9 } } }));
    resetLimitsCache();
    expect((await getLimits(source)).defaults.job).toEqual({ max: 5, windowSec: 9 });
    await syncLimits(env, db);
  });
});

describe('over HTTP', () => {
  it('the 101st of 200 concurrent requests under a 100 limit is refused: exactly 100 admitted', async () => {
    const user = await userWithLimit(100, 3600);
    const results = await Promise.all(Array.from({ length: 200 }, () => send(app, '/v1/__test/me', { headers: user.headers })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100);
    for (const r of results.filter((x) => x.status === 429)) {
      expect(envelope(r.json).code).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(r.headers.get('ratelimit-remaining')).toBe('0');
    }
    const next = await send(app, '/v1/__test/me', { headers: user.headers });
    expect(next.status).toBe(429);
  });

  it('sequentially: 3 admitted with decreasing RateLimit-Remaining, the 4th is 429 with Retry-After', async () => {
    const user = await userWithLimit(3, 120);
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await send(app, '/v1/__test/me', { headers: user.headers }));
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(seen.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(seen.every((r) => r.headers.get('ratelimit-limit') === '3')).toBe(true);
    expect(seen[0]!.headers.get('ratelimit-policy')).toBe('3;w=120');
    const retry = Number(seen[3]!.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    // The window is counted in 2 s slots (window / 60) and the oldest one counts in full, so
    // capacity comes back at most one slot after the window: 120 s + 2 s.
    expect(retry).toBeLessThanOrEqual(122);
    expect(Number(seen[3]!.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(122);
  });

  it('limits each user separately: another user keeps the class default', async () => {
    const limited = await userWithLimit(1, 600);
    await send(app, '/v1/__test/me', { headers: limited.headers });
    expect((await send(app, '/v1/__test/me', { headers: limited.headers })).status).toBe(429);
    const other = await send(app, '/v1/__test/me', { headers: { authorization: `Bearer ${await userToken(uuid())}` } });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-limit')).toBe('600');
  });

  it('every response carries the headers: anonymous, unknown route, auth failure, service', async () => {
    const ip = { 'cf-connecting-ip': `198.51.100.${Math.floor(Math.random() * 250)}` };
    const cases = [
      await send(app, '/health', { headers: ip }),
      await send(app, '/nope', { headers: ip }),
      await send(app, '/v1/__test/me', { headers: ip }),
      await send(app, '/admin/__test/ping', { headers: { authorization: `Bearer ${env.SERVICE_ROLE_KEY}` } }),
    ];
    expect(cases.map((r) => r.status)).toEqual([200, 404, 401, 200]);
    // Anonymous callers are limited by the native binding, which says only yes or no: the limit
    // and policy are stated, Remaining and Reset are not invented (ratelimit-overload.test.ts
    // shows the 401 counting against the same address).
    for (const r of cases.slice(0, 3)) {
      expect(r.headers.get('ratelimit-limit')).toBe('300');
      expect(r.headers.get('ratelimit-policy')).toBe('300;w=60');
      expect(r.headers.get('ratelimit-remaining')).toBeNull();
      expect(r.headers.get('ratelimit-reset')).toBeNull();
    }
    for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) expect(cases[3]!.headers.get(h)).toMatch(/^\d+$/);
    expect(cases[3]!.headers.get('ratelimit-limit')).toBe('6000');
  });

  it('RATE_LIMITS=off: no limiter call, no headers', async () => {
    const user = await userWithLimit(1, 600);
    const off = { RATE_LIMITS: 'off' };
    const a = await send(app, '/v1/__test/me', { headers: user.headers }, off);
    const b = await send(app, '/v1/__test/me', { headers: user.headers }, off);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers.get('ratelimit-limit')).toBeNull();
  });
});

describe('when the limiter is unreachable', () => {
  const broken = (fn: () => Promise<unknown>) =>
    ({
      idFromName: (n: string) => env.RATE_LIMITER.idFromName(n),
      get: () => ({ acquire: fn, check: fn }),
    }) as unknown as Env['RATE_LIMITER'];
  const failing = broken(() => Promise.reject(new Error('Durable Object unreachable')));
  const hanging = broken(() => new Promise(() => {}));
  const service = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}` };
  // Breakers and fallback budgets are per isolate: do not carry them into the next test.
  afterEach(() => {
    resetPermits();
    resetFallback();
  });

  it('reads are decided by the per-isolate fallback budget, never served unlimited', async () => {
    const user = { authorization: `Bearer ${await userToken(uuid())}` };
    const budget = fallbackBudget({ max: 600, windowSec: 60 });
    expect(budget).toBe(60);
    const seen = [];
    for (let i = 0; i < budget + 2; i++) seen.push(await send(app, '/v1/__test/me', { headers: user }, { RATE_LIMITER: failing }));
    expect(seen.slice(0, budget).every((r) => r.status === 200)).toBe(true);
    expect(seen.slice(budget).map((r) => r.status)).toEqual([429, 429]);
    // The headers say what decided: the fallback's own budget, not the object's limit.
    expect(seen[0]!.headers.get('ratelimit-limit')).toBe(String(budget));
    expect(seen[0]!.headers.get('ratelimit-remaining')).toBe(String(budget - 1));
    expect(Number(seen[budget]!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await send(app, '/admin/__test/ping', { headers: service }, { RATE_LIMITER: failing })).status).toBe(200);
  });

  it('fails closed for admin writes and jobs: 503 with the envelope', async () => {
    for (const path of ['/admin/__test/write', '/functions/v1/__test-job']) {
      const r = await send(app, path, { method: 'POST', headers: service }, { RATE_LIMITER: failing });
      expect(r.status).toBe(503);
      expect(envelope(r.json).code).toBe('unavailable');
    }
  });

  it('a limiter that hangs is bounded by the timeout, then the same policy applies', async () => {
    const r = await send(app, '/admin/__test/write', { method: 'POST', headers: service }, { RATE_LIMITER: hanging });
    expect(r.status).toBe(503);
    const user = { authorization: `Bearer ${await userToken(uuid())}` };
    const started = Date.now();
    const read = await send(app, '/v1/__test/me', { headers: user }, { RATE_LIMITER: hanging });
    expect(read.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // The breaker is open now: the next read does not wait for the object again.
    const again = Date.now();
    expect((await send(app, '/v1/__test/me', { headers: user }, { RATE_LIMITER: hanging })).status).toBe(200);
    expect(Date.now() - again).toBeLessThan(1_000);
  });
});
