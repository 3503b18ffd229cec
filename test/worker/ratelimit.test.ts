// Rate limits: the Durable Object's decisions (exact under concurrency, sliding window, cleanup),
// limits read from public.rate_limits with per-user overrides, the headers and the 429 envelope,
// and the documented policy when the limiter is unreachable.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger';
import { getLimits, LIMITS_KV_KEY, limitFor, loadLimitsFromDb, resetLimitsCache, syncLimits } from '../../src/ratelimit/config';
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
    expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterSec: 1 });
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

  it('persists its log: a restarted object still knows what it admitted', async () => {
    const name = `test:${uuid()}`;
    const stub = stubFor(name);
    await stub.check({ bucket: 'x', limit: 3, windowSec: 3600 });
    await stub.check({ bucket: 'x', limit: 3, windowSec: 3600 });
    // Forget the in-memory state, as an evicted object would.
    await runInDurableObject(stub, (instance: RateLimiter) => {
      (instance as unknown as { hits: Map<string, number[]> }).hits.clear();
    });
    expect(await stub.peek('x', 3600, 3)).toMatchObject({ remaining: 1 });
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
        .exec<{ bucket: string }>('SELECT bucket FROM hits')
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
    expect(retry).toBeLessThanOrEqual(120);
    expect(Number(seen[3]!.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(120);
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
    for (const r of cases) {
      for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) expect(r.headers.get(h)).toMatch(/^\d+$/);
    }
    expect(cases[0]!.headers.get('ratelimit-limit')).toBe('300');
    // The 401 counted against the same client IP as the anonymous calls before it.
    expect(Number(cases[2]!.headers.get('ratelimit-remaining'))).toBe(Number(cases[0]!.headers.get('ratelimit-remaining')) - 2);
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
    ({ idFromName: (n: string) => env.RATE_LIMITER.idFromName(n), get: () => ({ check: fn }) }) as unknown as Env['RATE_LIMITER'];
  const failing = broken(() => Promise.reject(new Error('Durable Object unreachable')));
  const hanging = broken(() => new Promise(() => {}));
  const service = { authorization: `Bearer ${env.SERVICE_ROLE_KEY}` };

  it('fails open for reads: served, with the configured limit in the headers', async () => {
    const user = { authorization: `Bearer ${await userToken(uuid())}` };
    const r = await send(app, '/v1/__test/me', { headers: user }, { RATE_LIMITER: failing });
    expect(r.status).toBe(200);
    expect(r.headers.get('ratelimit-limit')).toBe('600');
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
    const read = await send(app, '/health', {}, { RATE_LIMITER: hanging });
    expect(read.status).toBe(200);
  });
});
