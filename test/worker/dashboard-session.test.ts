// Dashboard access: the login cookie is an HMAC'd expiry (never the key) that only the current or
// next service key verifies; forms need its CSRF token; without credentials the login form (401).
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createSession, csrfToken, verifyCsrf, verifySession } from '../../src/dashboard/session';
import { call, serviceHeaders } from './support';

const other = { ...env, SERVICE_ROLE_KEY: 'a-different-service-key', SERVICE_ROLE_KEY_NEXT: '' } as Env;

describe('dashboard session', () => {
  it('a session verifies under the key that signed it (current or next), not others, and expires', async () => {
    const s = await createSession(env);
    expect(s).not.toContain(env.SERVICE_ROLE_KEY);
    expect(await verifySession(env, s)).toBe(true);
    expect(await verifySession(other, s)).toBe(false);
    const rotated = { ...env, SERVICE_ROLE_KEY: 'the-new-service-key', SERVICE_ROLE_KEY_NEXT: env.SERVICE_ROLE_KEY } as Env;
    expect(await verifySession(rotated, s)).toBe(true); // during rotation the old key still counts
    expect(await verifySession(env, s, Date.now() + 13 * 3600_000)).toBe(false);
    const [exp, sig] = s.split('.');
    expect(await verifySession(env, `${Number(exp) + 3600}.${sig}`)).toBe(false); // extended expiry
    expect(await verifySession(env, 'garbage')).toBe(false);
    expect(await verifySession(env, undefined)).toBe(false);
  });

  it('the CSRF token belongs to its session', async () => {
    const a = await createSession(env);
    const b = await createSession(env, Date.now() + 1000);
    expect(await verifyCsrf(env, a, await csrfToken(env, a))).toBe(true);
    expect(await verifyCsrf(env, a, await csrfToken(env, b))).toBe(false);
    expect(await verifyCsrf(env, a, undefined)).toBe(false);
  });
});

describe('dashboard routes', () => {
  it('without credentials: the login form with 401; with the key as bearer: the read-only dashboard', async () => {
    const anon = await call('/admin/dashboard');
    expect(anon.status).toBe(401);
    expect(anon.text).toContain('name="key"');
    const bearer = await call('/admin/dashboard', { headers: serviceHeaders() });
    expect(bearer.status).toBe(200);
    expect(bearer.res.headers.get('content-type')).toMatch(/text\/html/);
    for (const panel of ['safe-mode', 'alerts', 'slos', 'queues', 'dlq', 'policies', 'flags', 'ledger']) {
      expect(bearer.text).toContain(`data-panel="${panel}"`);
    }
    expect(bearer.text).not.toContain('data-action="toggle-safe-mode"'); // forms need a session
  });

  it('a session cookie POST without its CSRF token is refused', async () => {
    const login = await call('/admin/dashboard/login', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: env.SERVICE_ROLE_KEY }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = login.res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const res = await call('/admin/dashboard/safe-mode', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie.split(';')[0]! },
      body: new URLSearchParams({ enabled: 'true', reason: 'csrf test', confirm: 'yes', csrf: 'forged' }).toString(),
    });
    expect(res.status).toBe(403);
  });
});
