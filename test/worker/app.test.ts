// The app factory's contract: request ids, the error envelope for every failure, OpenAPI and docs.

import { env } from 'cloudflare:test';
import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { ApiError } from '../../src/http/errors';
import { call, envelope } from './support';

/** The real app plus two routes only this test mounts: one with a JSON body, one that throws. */
function appWithTestRoutes() {
  const app = createApp();
  app.openapi(
    createRoute({
      method: 'post',
      path: '/__test/echo',
      request: { body: { content: { 'application/json': { schema: z.object({ n: z.number().int().max(10) }) } } } },
      responses: { 200: { description: 'ok' } },
    }),
    (c) => c.json(c.req.valid('json')),
  );
  app.get('/__test/boom', () => {
    throw new Error('secret internals at /src/app.ts:42');
  });
  app.get('/__test/conflict', () => {
    throw new ApiError(409, 'conflict', 'already there');
  });
  return app;
}

describe('request id', () => {
  it('is minted for every response, errors included', async () => {
    const ok = await call('/health');
    const missing = await call('/nope');
    expect(ok.res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(missing.res.headers.get('x-request-id')).toBe(envelope(missing.json).request_id);
  });

  it("echoes a caller's safe x-request-id and replaces an unsafe one", async () => {
    const safe = await call('/health', { headers: { 'x-request-id': 'client-abc-123456' } });
    expect(safe.res.headers.get('x-request-id')).toBe('client-abc-123456');
    const unsafe = await call('/health', { headers: { 'x-request-id': 'x"><script>' } });
    expect(unsafe.res.headers.get('x-request-id')).not.toContain('<');
  });
});

describe('error envelope', () => {
  it('404 for an unknown route', async () => {
    const { status, json } = await call('/v1/does-not-exist');
    expect(status).toBe(404);
    expect(envelope(json).code).toBe('not_found');
  });

  it('400 for malformed JSON', async () => {
    const res = await appWithTestRoutes().request(
      '/__test/echo',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"n": 1,,',
      },
      env,
    );
    expect(res.status).toBe(400);
    const err = envelope(await res.json());
    expect(err.message).toMatch(/malformed JSON/);
  });

  it('400 naming the field for a schema violation', async () => {
    const res = await appWithTestRoutes().request(
      '/__test/echo',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 99 }),
      },
      env,
    );
    expect(res.status).toBe(400);
    const err = envelope(await res.json());
    expect(err.code).toBe('invalid_request');
    expect(err.details.issues[0].path).toBe('n');
  });

  it('500 for a thrown error, with no stack trace or internals', async () => {
    const res = await appWithTestRoutes().request('/__test/boom', {}, env);
    expect(res.status).toBe(500);
    const text = await res.text();
    const err = envelope(JSON.parse(text));
    expect(err.code).toBe('internal');
    expect(text).not.toMatch(/secret internals|app\.ts|at \w+ \(/);
  });

  it('keeps the status and code of an ApiError', async () => {
    const res = await appWithTestRoutes().request('/__test/conflict', {}, env);
    expect(res.status).toBe(409);
    expect(envelope(await res.json()).code).toBe('conflict');
  });

  it('500 misconfigured (naming no secret) when a required secret is missing', async () => {
    const res = await createApp().request('/v1/does-not-exist-either', {}, { ...env, SERVICE_ROLE_KEY: '' });
    // Unknown routes do not need config; a route that does must say "misconfigured".
    expect(res.status).toBe(404);
    const health = await createApp().request('/health', {}, { ...env, SERVICE_ROLE_KEY: '' });
    expect(health.status).toBe(503);
    const body = (await health.json()) as any;
    expect(body.failing).toContain('config');
    expect(JSON.stringify(body)).not.toContain(env.DATABASE_URL);
  });
});

describe('OpenAPI and docs', () => {
  it('serves an OpenAPI 3.1 document covering the routes', async () => {
    const { status, json } = await call('/openapi.json');
    expect(status).toBe(200);
    expect(json.openapi).toBe('3.1.0');
    expect(Object.keys(json.paths)).toEqual(expect.arrayContaining(['/health', '/functions/v1/health']));
    expect(json.components.securitySchemes).toHaveProperty('serviceKey');
  });

  it('renders a human-readable reference at /docs', async () => {
    const { status, text, res } = await call('/docs');
    expect(status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(text).toContain('/functions/v1/health');
    expect(text).toContain('<h2');
  });
});
