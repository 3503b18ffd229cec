// The API contract (issue 15): every operation of the served /openapi.json has a stable operationId,
// security and tags; the document lists its servers; and the layers in front of every handler answer
// exactly as documented. Each operation is driven through the statuses its declaration implies —
// 401/403 by access, 400/413/415 from the input guard, 429 from the limiter, 503 when the database
// or a fail-closed limiter is unreachable — and every answer is validated against the operation's
// documented response (status, required headers, body schema) by contract-support.ts. Success
// answers are validated where the other worker tests observe them (support.ts `call` records, and
// test/worker/contract-setup.ts checks after each file).
import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, OPENAPI_INFO, RESOURCES } from '../../src/app';
import { createRouter, DuplicateOperationIdError, defineRoute } from '../../src/platform/route';
import { syncLimits } from '../../src/ratelimit/config';
import { resetPermits } from '../../src/ratelimit/permits';
import { templateFor, violationsOf } from './contract-support';
import { declarationFor } from './gate-support';
import { BASE, serviceHeaders, type TestDb, testDb, userToken } from './support';

/**
 * Every operationId, pinned: generated clients name their methods after them, so a change must be a
 * deliberate edit of this list (a new route: add its id), never a side effect of a refactor.
 */
const OPERATION_IDS = [
  'deleteAdminRewardRangesBySurface',
  'deleteAdminUsersById',
  'deleteV1Me',
  'getAdminAlertRules',
  'getAdminAlerts',
  'getAdminContextKeys',
  'getAdminDashboard',
  'getAdminDlq',
  'getAdminErasuresById',
  'getAdminFlags',
  'getAdminFlagsEvaluate',
  'getAdminMetrics',
  'getAdminOpsPause',
  'getAdminPolicyOpe',
  'getAdminRateLimits',
  'getAdminRewardRanges',
  'getAdminSlos',
  'getAdminSurfacesBySurfaceCandidates',
  'getAdminUsersByIdExport',
  'getFunctionsV1Health',
  'getHealth',
  'getV1Flags',
  'getV1MeExport',
  'getV1MeInterests',
  'getV1MeSuggestions',
  'patchAdminAlertRulesById',
  'postAdminAlertsEvaluate',
  'postAdminContextKeysSync',
  'postAdminDashboardDlqRedrive',
  'postAdminDashboardLogin',
  'postAdminDashboardLogout',
  'postAdminDashboardSafeMode',
  'postAdminDlqPurge',
  'postAdminDlqRedrive',
  'postAdminFlagsSync',
  'postAdminPolicyRollup',
  'postAdminRateLimitsSync',
  'postAdminSurfacesBySurfaceCandidates',
  'postAdminSurfacesBySurfaceCandidatesUnregister',
  'postFunctionsV1HydrateFeatures',
  'postFunctionsV1PolicyRanker',
  'postFunctionsV1QueueWorker',
  'postFunctionsV1RockerDiscoveryRun',
  'postV1MeSignals',
  'postV1Rank',
  'postV1Rewards',
  'putAdminFlagsByKey',
  'putAdminOpsPause',
  'putAdminRewardRangesBySurface',
  'putV1MeInterests',
];

type Doc = any;
const app = createApp();
const doc: Doc = await (await SELF.fetch(`${BASE}/openapi.json`)).json();
const PARAM_VALUES: Record<string, string> = { id: crypto.randomUUID(), key: 'global.safe_mode', surface: 'contract-test' };
const operations = Object.entries<any>(doc.paths).flatMap(([template, ops]) =>
  Object.entries<any>(ops).map(([method, op]) => {
    const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => PARAM_VALUES[name] ?? 'x');
    return { method: method.toUpperCase(), template, path, op, decl: declarationFor(method, path) };
  }),
);
type Operation = (typeof operations)[number];
const bodyless = (o: Operation) => o.method === 'GET' || o.method === 'HEAD';

let db: TestDb;
const user = crypto.randomUUID();
let userAuth: Record<string, string>;
beforeAll(async () => {
  db = testDb();
  userAuth = { authorization: `Bearer ${await userToken(user)}` };
});
afterAll(async () => {
  await db.end();
});

/** Send through the production app with optional binding overrides; validate the answer. */
async function exchange(o: Operation, init: RequestInit, bindings: Partial<Env> = {}) {
  const ctx = createExecutionContext();
  const res = await app.request(`${BASE}${o.path}`, { method: o.method, ...init }, { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  const violations = violationsOf(doc, { method: o.method, path: o.path, status: res.status, headers: res.headers, text });
  return { status: res.status, violations };
}

/** Credentials that pass the gate of this operation (dashboard routes accept the service key). */
function passingAuth(o: Operation): Record<string, string> {
  if (o.decl.access === 'user' || o.decl.access === 'optional_user') return userAuth;
  if (o.decl.access === 'service' || o.decl.access === 'dashboard') return serviceHeaders();
  return {};
}

/** Run `probe` on every operation it applies to; collect status mismatches and contract violations. */
async function drive(
  applies: (o: Operation) => boolean,
  expected: number,
  probe: (o: Operation) => Promise<{ status: number; violations: string[] }>,
) {
  const problems: string[] = [];
  let driven = 0;
  for (const o of operations.filter(applies)) {
    const { status, violations } = await probe(o);
    driven++;
    if (status !== expected) problems.push(`${o.method} ${o.template}: ${status}, expected ${expected}`);
    problems.push(...violations);
  }
  expect(problems).toEqual([]);
  return driven;
}

describe('the served document', () => {
  it('has a stable, unique operationId, security and tags on every operation', () => {
    const ids = operations.map((o) => o.op.operationId);
    const missing = operations.filter((o) => !o.op.operationId || !Array.isArray(o.op.security) || !(o.op.tags?.length > 0));
    expect(missing.map((o) => `${o.method} ${o.template}`)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    // On a failure, the diff names the id to add (a new route) or the one that changed.
    expect([...ids].sort()).toEqual(OPERATION_IDS);
    // Public routes say so: an empty security requirement list.
    for (const o of operations.filter((x) => x.decl.access === 'public')) expect(o.op.security, o.template).toEqual([]);
  });

  it('is exactly what createApp() generates (the document test/integration/openapi-lint.test.ts lints)', () => {
    expect(doc).toEqual(JSON.parse(JSON.stringify(createApp().getOpenAPI31Document(OPENAPI_INFO))));
  });

  it('refuses two routes whose derived operationIds collide', () => {
    const r = createRouter();
    const ok = { 200: { description: 'ok' } };
    defineRoute(r, { method: 'get', path: '/v1/__test/a-b', access: 'public', responses: ok }, (c) => c.body(null, 200));
    defineRoute(r, { method: 'get', path: '/v1/__test/a_b', access: 'public', responses: ok }, (c) => c.body(null, 200));
    expect(() => createApp([...RESOURCES, r])).toThrow(DuplicateOperationIdError);
    expect(() => createApp([...RESOURCES, r])).toThrow('operationId getV1TestAB names both GET /v1/__test/a-b and GET /v1/__test/a_b');
  });

  it('lists the local, staging and production servers', () => {
    expect(doc.servers.map((s: any) => s.url)).toEqual([
      'http://127.0.0.1:8787',
      'https://edge-discovery-staging.{account}.workers.dev',
      'https://edge-discovery-production.{account}.workers.dev',
    ]);
  });

  it('maps every concrete path back to its operation (static segments win)', () => {
    expect(templateFor(doc, 'GET', '/admin/users/abc/export')).toBe('/admin/users/{id}/export');
    expect(templateFor(doc, 'GET', '/health')).toBe('/health');
    expect(templateFor(doc, 'GET', '/nope')).toBeUndefined();
    // The checker is not a rubber stamp: an undocumented status and a wrong body shape are reported.
    const headers = new Headers({ 'content-type': 'application/json' });
    expect(violationsOf(doc, { method: 'GET', path: '/v1/flags', status: 418, headers, text: '{}' })).toHaveLength(1);
    expect(violationsOf(doc, { method: 'GET', path: '/v1/flags', status: 401, headers, text: '{"error":{}}' })).toHaveLength(1);
    const retry = new Headers({ 'content-type': 'application/json', 'ratelimit-limit': '1' });
    const envelope = JSON.stringify({ error: { code: 'rate_limited', message: 'x', request_id: 'r' } });
    expect(violationsOf(doc, { method: 'GET', path: '/v1/flags', status: 429, headers: retry, text: envelope }).join()).toMatch(
      /Retry-After missing/,
    );
  });
});

describe('every operation answers as documented', () => {
  it('401 without credentials (user and service routes) or with an invalid token (optional user)', async () => {
    const n = await drive(
      (o) => ['user', 'service', 'optional_user'].includes(o.decl.access),
      401,
      (o) => exchange(o, { headers: o.decl.access === 'optional_user' ? { authorization: 'Bearer not.a.jwt' } : {} }),
    );
    expect(n).toBeGreaterThan(30);
  });

  it('403 with the wrong kind of credentials', async () => {
    await drive(
      (o) => o.decl.access === 'user',
      403,
      (o) => exchange(o, { headers: serviceHeaders() }),
    );
    await drive(
      (o) => o.decl.access === 'service',
      403,
      (o) => exchange(o, { headers: userAuth }),
    );
  });

  // GET and HEAD requests are sent without a body: workerd's Request refuses one, so the guard's
  // answers to a GET body (400, 413; documented, since a client can send one) are not driven here.
  it('413 for a body over the declared limit, on every route that takes a body', async () => {
    const n = await drive(
      (o) => !bodyless(o),
      413,
      (o) =>
        exchange(o, {
          headers: { ...passingAuth(o), 'content-type': 'application/json', 'content-length': String(o.decl.maxBodyBytes + 1) },
          body: ' '.repeat(o.decl.maxBodyBytes + 1),
        }),
    );
    expect(n).toBeGreaterThan(20);
  });

  it('415 for a body that is not JSON, on every route that takes one', async () => {
    await drive(
      (o) => !bodyless(o),
      415,
      (o) => exchange(o, { headers: { ...passingAuth(o), 'content-type': 'text/plain' }, body: 'x' }),
    );
  });

  it('400 for a JSON body that is not valid UTF-8, on every route that takes one', async () => {
    await drive(
      (o) => !bodyless(o),
      400,
      (o) => exchange(o, { headers: { ...passingAuth(o), 'content-type': 'application/json' }, body: new Uint8Array([0x22, 0xff, 0x22]) }),
    );
  });

  it('429 with Retry-After and RateLimit-* when the limiter refuses: anonymous and per user', async () => {
    // Anonymous callers meet the native binding; a refusal is its documented answer { success: false }.
    const refusing = { limit: async () => ({ success: false }) } as unknown as RateLimit;
    await drive(
      // The dashboard authenticates itself, after the gate: it is limited by address too.
      (o) => o.decl.access === 'public' || o.decl.access === 'dashboard',
      429,
      (o) => exchange(o, { headers: { 'cf-connecting-ip': '198.51.100.7', ...passingAuth(o) } }, { ANON_RATE_LIMITER: refusing }),
    );
    // Users meet their RateLimiter object: a per-user override of one request a minute per class,
    // spent once, then every route of the class is refused.
    const limited = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [limited]);
    await db.query(
      `INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, 1, 60), ('reward', $1, 1, 60)`,
      [limited],
    );
    await syncLimits(env, db);
    const auth = { authorization: `Bearer ${await userToken(limited)}` };
    const userOps = (cls: string) => (o: Operation) =>
      (o.decl.access === 'user' || o.decl.access === 'optional_user') && o.decl.limitClass === cls;
    for (const cls of ['user', 'reward']) {
      const first = operations.find(userOps(cls))!;
      // The limit is read from KV with a short isolate cache: wait until the override is in force.
      for (let i = 0; i < 40 && (await exchange(first, { headers: auth })).status !== 429; i++)
        await new Promise((r) => setTimeout(r, 500));
      await drive(userOps(cls), 429, (o) => exchange(o, { headers: auth }));
    }
  }, 60_000);

  it('503 when a fail-closed limiter (admin_write, job) is unreachable', async () => {
    // Permits the isolate leased for earlier calls would admit without asking the object.
    resetPermits();
    const unreachable = {
      idFromName: (n: string) => env.RATE_LIMITER.idFromName(n),
      get: () => {
        throw new Error('Durable Objects unavailable');
      },
    } as unknown as Env['RATE_LIMITER'];
    const n = await drive(
      (o) => !o.decl.failOpen && o.decl.access === 'service',
      503,
      (o) => exchange(o, { headers: passingAuth(o) }, { RATE_LIMITER: unreachable }),
    );
    expect(n).toBeGreaterThan(10);
  }, 60_000);

  // Driven where the database is the first thing the route needs: reads without a body (a route that
  // takes a body validates it first; the first-sight user upsert is best effort and never answers 503).
  it('503 with Retry-After when the database is unreachable (reads and deletes that need it)', async () => {
    const down = { DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/postgres' } as Partial<Env>;
    const n = await drive(
      (o) =>
        o.decl.database &&
        (o.method === 'GET' || o.method === 'DELETE') &&
        o.decl.access !== 'public' &&
        !o.op.parameters?.some((p: any) => p.in === 'query' && p.required),
      503,
      (o) => exchange(o, { headers: passingAuth(o) }, down),
    );
    expect(n).toBeGreaterThan(10);
  }, 120_000);
});
