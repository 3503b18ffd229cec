// Authentication: user JWTs (HS256 secret, RS256/ES256 via JWKS), the service key with rotation,
// 401 vs 403, and the first-sight users upsert.
import { env } from 'cloudflare:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { forgetSeenUsers } from '../../src/auth/user-upsert';
import { gateApp, send } from './gate-support';
import { envelope, testDb, userToken } from './support';

const app = gateApp();
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const secret = (s: string) => new TextEncoder().encode(s);
const uuid = () => crypto.randomUUID();

async function hs256(claims: Record<string, unknown>, key = env.AUTH_JWT_SECRET, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(secret(key));
}
const now = () => Math.floor(Date.now() / 1000);

describe('user routes', () => {
  it('401 with the envelope and WWW-Authenticate when no token is sent', async () => {
    const r = await send(app, '/v1/__test/me');
    expect(r.status).toBe(401);
    expect(envelope(r.json).code).toBe('unauthorized');
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('200 with a valid HS256 token; the user is the token subject', async () => {
    const id = uuid();
    const r = await send(app, '/v1/__test/me', { headers: bearer(await userToken(id)) });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id });
  });

  it.each([
    ['garbage', async () => 'not-a-jwt'],
    ['expired', async () => hs256({ sub: uuid(), exp: now() - 3600 })],
    ['not yet valid', async () => hs256({ sub: uuid(), exp: now() + 3600, nbf: now() + 3600 })],
    ['without exp', async () => hs256({ sub: uuid() })],
    ['sub not a UUID', async () => hs256({ sub: 'admin', exp: now() + 3600 })],
    ['signed with another secret', async () => hs256({ sub: uuid(), exp: now() + 3600 }, 'some-other-secret')],
    [
      'alg none',
      async () => {
        const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: uuid(), exp: now() + 3600 })}.`;
      },
    ],
    [
      'HS512',
      async () => new SignJWT({ sub: uuid(), exp: now() + 3600 }).setProtectedHeader({ alg: 'HS512' }).sign(secret(env.AUTH_JWT_SECRET)),
    ],
    [
      'RS256 while no JWKS is configured',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ sub: uuid() }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey);
      },
    ],
    ['oversized (> 8 KiB)', async () => hs256({ sub: uuid(), exp: now() + 3600, pad: 'x'.repeat(9000) })],
  ])('401 for a token that is %s', async (_name, make) => {
    const r = await send(app, '/v1/__test/me', { headers: bearer(await make()) });
    expect(r.status).toBe(401);
    expect(envelope(r.json).code).toBe('unauthorized');
  });

  it('403 for the service key on a user route (valid credentials, wrong role)', async () => {
    const r = await send(app, '/v1/__test/me', { headers: bearer(env.SERVICE_ROLE_KEY) });
    expect(r.status).toBe(403);
    expect(envelope(r.json).code).toBe('forbidden');
  });

  it('checks iss and aud when configured', async () => {
    const bindings = { AUTH_ISSUER: 'https://idp.example.test/', AUTH_AUDIENCE: 'edge-api, other-api' };
    const sign = (iss: string, aud: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(uuid())
        .setIssuer(iss)
        .setAudience(aud)
        .setExpirationTime('1h')
        .sign(secret(env.AUTH_JWT_SECRET));
    expect(
      (await send(app, '/v1/__test/me', { headers: bearer(await sign('https://idp.example.test/', 'edge-api')) }, bindings)).status,
    ).toBe(200);
    expect(
      (await send(app, '/v1/__test/me', { headers: bearer(await sign('https://idp.example.test/', 'other-api')) }, bindings)).status,
    ).toBe(200);
    expect((await send(app, '/v1/__test/me', { headers: bearer(await sign('https://evil.example/', 'edge-api')) }, bindings)).status).toBe(
      401,
    );
    expect(
      (await send(app, '/v1/__test/me', { headers: bearer(await sign('https://idp.example.test/', 'not-us')) }, bindings)).status,
    ).toBe(401);
  });

  it('accepts AUTH_JWT_SECRET_NEXT during a secret rotation, and only while it is set', async () => {
    const token = await hs256({ sub: uuid(), exp: now() + 3600 }, 'the-next-jwt-secret');
    expect((await send(app, '/v1/__test/me', { headers: bearer(token) })).status).toBe(401);
    expect((await send(app, '/v1/__test/me', { headers: bearer(token) }, { AUTH_JWT_SECRET_NEXT: 'the-next-jwt-secret' })).status).toBe(
      200,
    );
    // Rotation finished: the new secret is the current one.
    expect((await send(app, '/v1/__test/me', { headers: bearer(token) }, { AUTH_JWT_SECRET: 'the-next-jwt-secret' })).status).toBe(200);
  });
});

describe('JWKS (RS256 / ES256) from the identity provider', () => {
  afterEach(() => vi.restoreAllMocks());

  /** The identity provider is external: its JWKS endpoint is served by a fetch stub. */
  function serveJwks(url: string, keys: JWK[]) {
    const real = globalThis.fetch;
    return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const target = input instanceof Request ? input.url : String(input);
      if (target === url) return Response.json({ keys });
      return real(input, init);
    });
  }

  it.each(['RS256', 'ES256'] as const)('verifies %s tokens against the JWKS and caches the keys', async (alg) => {
    const url = `https://idp-${alg.toLowerCase()}-${uuid()}.example.test/.well-known/jwks.json`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const fetchSpy = serveJwks(url, [{ ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }]);
    const sign = (sub: string, kid = 'k1') =>
      new SignJWT({}).setProtectedHeader({ alg, kid }).setSubject(sub).setExpirationTime('1h').sign(privateKey);
    const bindings = { AUTH_JWKS_URL: url };
    const a = uuid();
    const b = uuid();
    expect((await send(app, '/v1/__test/me', { headers: bearer(await sign(a)) }, bindings)).json).toEqual({ id: a });
    expect((await send(app, '/v1/__test/me', { headers: bearer(await sign(b)) }, bindings)).json).toEqual({ id: b });
    const jwksFetches = () => fetchSpy.mock.calls.filter(([i]) => String(i instanceof Request ? i.url : i) === url).length;
    expect(jwksFetches()).toBe(1);
    // A key the provider never published: rejected.
    const { privateKey: rogue } = await generateKeyPair(alg);
    const forged = await new SignJWT({}).setProtectedHeader({ alg, kid: 'k1' }).setSubject(a).setExpirationTime('1h').sign(rogue);
    expect((await send(app, '/v1/__test/me', { headers: bearer(forged) }, bindings)).status).toBe(401);
  });

  it('rejects an HS256 token whose "secret" is the public key when only JWKS is configured', async () => {
    const url = `https://idp-confusion-${uuid()}.example.test/jwks.json`;
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    serveJwks(url, [{ ...jwk, kid: 'k1', alg: 'RS256' }]);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject(uuid())
      .setExpirationTime('1h')
      .sign(secret(JSON.stringify(jwk)));
    const r = await send(app, '/v1/__test/me', { headers: bearer(token) }, { AUTH_JWKS_URL: url, AUTH_JWT_SECRET: '' });
    expect(r.status).toBe(401);
  });
});

describe('service routes', () => {
  const NEW_KEY = 'rotated-service-key-0002';

  it('401 without a key, 401 with a wrong key, 403 with a valid user token, 200 with the key', async () => {
    expect((await send(app, '/admin/__test/ping')).status).toBe(401);
    const wrong = await send(app, '/admin/__test/ping', { headers: bearer('not-the-service-key') });
    expect(wrong.status).toBe(401);
    expect(envelope(wrong.json).code).toBe('unauthorized');
    const asUser = await send(app, '/admin/__test/ping', { headers: bearer(await userToken(uuid())) });
    expect(asUser.status).toBe(403);
    expect(envelope(asUser.json).code).toBe('forbidden');
    const ok = await send(app, '/admin/__test/ping', { headers: bearer(env.SERVICE_ROLE_KEY) });
    expect(ok.json).toEqual({ key: 'current' });
  });

  it('applies to job routes and to percent-encoded admin paths too', async () => {
    expect((await send(app, '/functions/v1/__test-job', { method: 'POST' })).status).toBe(401);
    expect((await send(app, '/%61dmin/__test/ping')).status).toBe(401);
    expect((await send(app, '/%61dmin/__test/ping', { headers: bearer(env.SERVICE_ROLE_KEY) })).status).toBe(200);
  });

  it('rotation: both keys work while NEXT is set; the old key fails once it is removed', async () => {
    const during = { SERVICE_ROLE_KEY_NEXT: NEW_KEY };
    expect((await send(app, '/admin/__test/ping', { headers: bearer(env.SERVICE_ROLE_KEY) }, during)).json).toEqual({ key: 'current' });
    expect((await send(app, '/admin/__test/ping', { headers: bearer(NEW_KEY) }, during)).json).toEqual({ key: 'next' });
    const after = { SERVICE_ROLE_KEY: NEW_KEY, SERVICE_ROLE_KEY_NEXT: '' };
    expect((await send(app, '/admin/__test/ping', { headers: bearer(NEW_KEY) }, after)).json).toEqual({ key: 'current' });
    const old = await send(app, '/admin/__test/ping', { headers: bearer(env.SERVICE_ROLE_KEY) }, after);
    expect(old.status).toBe(401);
    // Before the rotation started, the new key was not accepted either.
    expect((await send(app, '/admin/__test/ping', { headers: bearer(NEW_KEY) })).status).toBe(401);
  });
});

describe('first sight of a user', () => {
  it('upserts auth.users once, then serves from the isolate cache without writing', async () => {
    const db = testDb();
    try {
      const id = uuid();
      const token = await userToken(id, { email: `${id}@first-sight.test` });
      expect((await send(app, '/v1/__test/me', { headers: bearer(token) })).status).toBe(200);
      const [row] = await db.query<{ email: string; last_seen_at: string | null; raw_claims: any }>(
        'SELECT email, last_seen_at, raw_claims FROM auth.users WHERE id = $1',
        [id],
      );
      expect(row?.email).toBe(`${id}@first-sight.test`);
      expect(row?.last_seen_at).not.toBeNull();
      expect(row?.raw_claims.sub).toBe(id);

      // Remove the row behind the cache's back: the next request must not write it again.
      await db.query('DELETE FROM auth.users WHERE id = $1', [id]);
      expect((await send(app, '/v1/__test/me', { headers: bearer(token) })).status).toBe(200);
      expect(await db.query('SELECT 1 FROM auth.users WHERE id = $1', [id])).toHaveLength(0);

      // A new isolate (cache forgotten) sees the user for the first time again.
      forgetSeenUsers();
      expect((await send(app, '/v1/__test/me', { headers: bearer(token) })).status).toBe(200);
      expect(await db.query('SELECT 1 FROM auth.users WHERE id = $1', [id])).toHaveLength(1);
    } finally {
      await db.end();
    }
  });

  it('never writes for a rejected token', async () => {
    const db = testDb();
    try {
      const id = uuid();
      const r = await send(app, '/v1/__test/me', { headers: bearer(await hs256({ sub: id, exp: now() - 10_000 })) });
      expect(r.status).toBe(401);
      expect(await db.query('SELECT 1 FROM auth.users WHERE id = $1', [id])).toHaveLength(0);
    } finally {
      await db.end();
    }
  });
});
