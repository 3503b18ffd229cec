// Input hardening and response hardening, applied centrally to every route: body size (413),
// content type (415), strict bodies (400 on unknown fields), JSON depth, CORS allow-list,
// security headers — and each route's declaration agreeing with what it documents.
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp, RESOURCES } from '../../src/app';
import { MAX_JSON_DEPTH } from '../../src/http/input-guard';
import { createRouter, defineRoute, UndeclaredRouteError } from '../../src/platform/route';
import { declarationFor, gateApp, send } from './gate-support';
import { envelope, userToken } from './support';

const app = gateApp();
const ORIGIN = env.CORS_ORIGINS.split(',')[0]!.trim();
const user = async () => ({ authorization: `Bearer ${await userToken(crypto.randomUUID())}` });
const echo = async (body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  send(app, '/v1/__test/echo', { method: 'POST', body, headers: { ...(await user()), ...headers } });

describe('request bodies', () => {
  it('accepts a valid body', async () => {
    const r = await echo(JSON.stringify({ n: 3, nested: { a: 'x' } }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ n: 3, nested: { a: 'x' } });
  });

  it('413 above the route class limit, by Content-Length', async () => {
    const r = await echo(JSON.stringify({ n: 1, pad: 'x'.repeat(70 * 1024) }));
    expect(r.status).toBe(413);
    expect(envelope(r.json).code).toBe('payload_too_large');
  });

  it('413 for a streamed body without Content-Length, counted while reading', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 8) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const r = await send(app, '/v1/__test/echo', {
      method: 'POST',
      body: stream,
      headers: { ...(await user()), 'content-type': 'application/json' },
      // @ts-expect-error workerd needs duplex for a streamed request body
      duplex: 'half',
    });
    expect(r.status).toBe(413);
  });

  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/json; charset=latin1'],
  ])('415 for a body sent as %s', async (type) => {
    const r = await echo('{"n":1}', { 'content-type': type });
    expect(r.status).toBe(415);
    expect(envelope(r.json).code).toBe('unsupported_media_type');
  });

  it('415 for a body without any content type', async () => {
    const r = await send(app, '/v1/__test/echo', { method: 'POST', body: '{"n":1}', headers: await user() });
    expect(r.status).toBe(415);
  });

  it('400 for JSON nested deeper than the limit, and for invalid UTF-8', async () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    const r = await echo(JSON.stringify({ n: 1, free: { x: JSON.parse(deep) } }));
    expect(r.status).toBe(400);
    expect(envelope(r.json).message).toMatch(/nested deeper/);
    const bad = await echo(new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0xff, 0x7d]));
    expect(bad.status).toBe(400);
  });

  it('strict bodies: unknown fields are rejected at every depth, naming them', async () => {
    const top = await echo(JSON.stringify({ n: 1, admin: true }));
    expect(top.status).toBe(400);
    const issue = envelope(top.json).details.issues[0];
    expect(issue.code).toBe('unrecognized_keys');
    expect(envelope(top.json).message).toContain('admin');
    expect((await echo(JSON.stringify({ n: 1, nested: { a: 'x', b: 1 } }))).status).toBe(400);
    expect((await echo(JSON.stringify({ n: 1, items: [{ id: 'a' }, { id: 'b', role: 'admin' }] }))).status).toBe(400);
  });

  it('strict bodies: an explicitly loose object keeps its extra fields', async () => {
    const r = await echo(JSON.stringify({ n: 1, free: { anything: [1, 2], goes: 'here' } }));
    expect(r.status).toBe(200);
    expect(r.json.free).toEqual({ anything: [1, 2], goes: 'here' });
  });

  it('the OpenAPI document keeps the schema as written (named component, no metadata lost)', async () => {
    const res = await app.request('/openapi.json', {}, env);
    const doc = (await res.json()) as any;
    const ref = doc.paths['/v1/__test/echo'].post.requestBody.content['application/json'].schema.$ref;
    expect(ref).toBe('#/components/schemas/GateTestEcho');
    expect(Object.keys(doc.components.schemas.GateTestEcho.properties)).toEqual(['n', 'nested', 'items', 'free']);
  });
});

describe('dependency failures', () => {
  it('a database that cannot be reached answers 503 unavailable with Retry-After, not 500', async () => {
    const broken = gateApp();
    broken.get('/__test/db-down', () => {
      throw new Error('Connection terminated due to connection timeout');
    });
    broken.get('/__test/bug', () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    const down = await send(broken, '/__test/db-down');
    expect(down.status).toBe(503);
    expect(envelope(down.json).code).toBe('unavailable');
    expect(down.headers.get('retry-after')).toBe('1');
    const bug = await send(broken, '/__test/bug');
    expect(bug.status).toBe(500);
    expect(envelope(bug.json).code).toBe('internal');
  });
});

describe('CORS', () => {
  it('echoes an allowed origin on every response, errors included', async () => {
    for (const path of ['/health', '/v1/__test/me', '/nope']) {
      const r = await send(app, path, { headers: { origin: ORIGIN } });
      expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(r.headers.get('access-control-expose-headers')).toContain('ratelimit-remaining');
      expect(r.headers.get('access-control-expose-headers')).toContain('x-worker-version');
      expect(r.headers.get('vary')).toContain('Origin');
    }
  });

  it('never allows an origin that is not configured', async () => {
    const r = await send(app, '/health', { headers: { origin: 'https://evil.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights for allowed origins (204) and refuses others (403 envelope)', async () => {
    const preflight = (origin: string) =>
      send(app, '/v1/__test/echo', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
    const ok = await preflight(ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
    // Version affinity from browsers: the key may be sent, the serving version may be read.
    expect(ok.headers.get('access-control-allow-headers')).toContain('cloudflare-workers-version-key');
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    const bad = await preflight('https://evil.example');
    expect(bad.status).toBe(403);
    expect(envelope(bad.json).code).toBe('forbidden');
  });
});

describe('security headers', () => {
  it('are on every response: success, HTML docs, 401, 404, 413', async () => {
    const responses = [
      await send(app, '/health'),
      await send(app, '/docs'),
      await send(app, '/v1/__test/me'),
      await send(app, '/nope'),
      await echo(JSON.stringify({ pad: 'x'.repeat(70 * 1024) })),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 404, 413]);
    for (const r of responses) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(r.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    }
  });

  it('credentialed responses are not cacheable', async () => {
    const r = await send(app, '/v1/__test/me', { headers: await user() });
    expect(r.headers.get('cache-control')).toBe('no-store');
  });
});

describe('route declarations', () => {
  it('declare the canonical routes as the design table says', () => {
    expect(declarationFor('POST', '/v1/rank')).toMatchObject({ limitClass: 'user', access: 'user', hot: true });
    expect(declarationFor('POST', '/functions/v1/policy-ranker')).toMatchObject({ limitClass: 'user', hot: true });
    expect(declarationFor('GET', '/v1/me/interests')).toMatchObject({ limitClass: 'user', hot: false });
    expect(declarationFor('GET', '/admin/flags')).toMatchObject({ limitClass: 'admin_read', access: 'service', failOpen: true });
    expect(declarationFor('PUT', '/admin/flags/x')).toMatchObject({ limitClass: 'admin_write', failOpen: false });
    expect(declarationFor('POST', '/functions/v1/queue-worker')).toMatchObject({ limitClass: 'job', access: 'service', failOpen: false });
    expect(declarationFor('GET', '/functions/v1/health')).toMatchObject({ limitClass: 'anon', access: 'public' });
    expect(declarationFor('GET', '/health')).toMatchObject({ limitClass: 'anon' });
    expect(declarationFor('GET', '/v1/flags')).toMatchObject({ access: 'optional_user', hot: true });
  });

  it('every documented route declares the security its route class enforces', async () => {
    const doc = (await (await SELF.fetch('http://edge.test/openapi.json')).json()) as any;
    const mismatches: string[] = [];
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const { access } = declarationFor(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
        if (access === 'dashboard') continue; // the route authenticates itself (dashboard)
        const expected = { user: 'bearerJwt', optional_user: 'bearerJwt', service: 'serviceKey', public: undefined }[access];
        const declared = (op.security ?? []).flatMap((s: object) => Object.keys(s));
        if (expected ? !declared.includes(expected) : declared.length > 0) {
          mismatches.push(`${method.toUpperCase()} ${path}: declares [${declared}] but is enforced as ${expected ?? 'public'}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('an undeclared route cannot be mounted', () => {
    const rogue = createRouter();
    rogue.get('/v1/__test/undeclared', (c) => c.json({ leaked: true }));
    expect(() => createApp([...RESOURCES, rogue])).toThrow(UndeclaredRouteError);
    expect(() => createApp([...RESOURCES, rogue])).toThrow('route GET /v1/__test/undeclared has no access declaration');
    // The same route through defineRoute mounts, and the gate enforces what it declares.
    const declared = createRouter();
    defineRoute(
      declared,
      { method: 'get', path: '/v1/__test/undeclared', access: 'user', responses: { 200: { description: 'ok' } } },
      (c) => c.json({ leaked: false }, 200),
    );
    expect(() => createApp([...RESOURCES, declared])).not.toThrow();
  });
});
