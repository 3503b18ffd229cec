// Dashboard login: the operator types the service key once; the Worker answers with an HttpOnly,
// SameSite=Strict cookie holding an expiry and an HMAC of it under the service key (never the key
// itself). Rotating the service key ends every session. Forms carry a CSRF token derived from the
// session, checked on every POST (SameSite=Strict already stops cross-site posts; belt and braces).

import { timingSafeEqual } from '../auth/tokens';
import { getConfig } from '../config';

export const SESSION_COOKIE = 'dash_session';
export const SESSION_TTL_SECONDS = 12 * 3600;

async function hmac(key: string, data: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', new TextEncoder().encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(data)));
  let bin = '';
  for (const b of sig) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function keys(env: Env): string[] {
  const config = getConfig(env);
  return [config.SERVICE_ROLE_KEY, config.SERVICE_ROLE_KEY_NEXT].filter((k): k is string => !!k);
}

/** A new session value, signed with the current service key. */
export async function createSession(env: Env, nowMs = Date.now()): Promise<string> {
  const exp = Math.floor(nowMs / 1000) + SESSION_TTL_SECONDS;
  return `${exp}.${await hmac(getConfig(env).SERVICE_ROLE_KEY, `dashboard:${exp}`)}`;
}

/** Is this cookie value a live session signed by the current or next service key? */
export async function verifySession(env: Env, value: string | undefined, nowMs = Date.now()): Promise<boolean> {
  const m = /^(\d{1,12})\.([\w-]{20,100})$/.exec(value ?? '');
  if (!m) return false;
  const exp = Number(m[1]);
  if (exp * 1000 <= nowMs) return false;
  let ok = false;
  for (const key of keys(env)) ok = timingSafeEqual(await hmac(key, `dashboard:${exp}`), m[2]!) || ok;
  return ok;
}

/** The CSRF token of a session (or of a bearer-authenticated page view: derived from the key). */
export async function csrfToken(env: Env, session: string | undefined): Promise<string> {
  return hmac(getConfig(env).SERVICE_ROLE_KEY, `csrf:${session ?? 'bearer'}`);
}

export async function verifyCsrf(env: Env, session: string | undefined, token: string | undefined): Promise<boolean> {
  if (!token) return false;
  return timingSafeEqual(await csrfToken(env, session), token);
}
