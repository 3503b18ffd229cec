// Helpers for tests that run inside workerd: a DB handle over the same Neon driver the Worker
// uses, service-key and user-JWT headers, and JSON fetches through SELF.
import { env, SELF } from 'cloudflare:test';
import type { Pool } from '@neondatabase/serverless';
import { SignJWT } from 'jose';
import { createDb, type Db } from '../../src/db/client';
import { createLogger } from '../../src/observability/logger';
import { observe } from './contract-support';

export const BASE = 'http://edge.test';

/**
 * The Worker's Db (drizzle over the Neon driver) for tests, plus what tests need beyond it: raw
 * SQL with rows as the driver returns them (tests assert on them), and end().
 */
export type TestDb = Db & {
  query<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** The driver's pool (multi-statement scripts, session settings). */
  pool: Pool;
  end(): Promise<void>;
};

export function testDbFor(e: Env, log = createLogger({ test: true })): TestDb {
  const handle = createDb(e, log);
  const pool = handle.db.$client;
  return Object.assign(handle.db, {
    pool,
    query: async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows,
    end: () => handle.end(),
  }) as unknown as TestDb;
}

export function testDb(): TestDb {
  return testDbFor(env);
}

export const serviceHeaders = (): Record<string, string> => ({ authorization: `Bearer ${env.SERVICE_ROLE_KEY}` });

export async function userToken(sub: string, claims: Record<string, unknown> = {}, ttl = '1h'): Promise<string> {
  return new SignJWT({ role: 'authenticated', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(env.AUTH_JWT_SECRET));
}

export async function userHeaders(sub: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await userToken(sub)}` };
}

/** RequestInit with `json` turned into a JSON body and its content type. */
export function withJsonBody(init: RequestInit & { json?: unknown }): RequestInit {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json === undefined) return { ...rest, headers };
  headers.set('content-type', 'application/json');
  return { ...rest, headers, body: JSON.stringify(json) };
}

/** The body of a response as text and, when it parses, as JSON. */
export async function readBody(res: Response): Promise<{ text: string; json: any }> {
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { text, json };
}

/**
 * A request through the Worker. Every answer is recorded and, after the test file, checked against
 * its operation in /openapi.json (contract-setup.ts): the tests' own traffic is contract evidence.
 */
export async function call(path: string, init: RequestInit & { json?: unknown } = {}) {
  const res = await SELF.fetch(`${BASE}${path}`, withJsonBody(init));
  const { text, json } = await readBody(res);
  observe({ method: init.method ?? 'GET', path: new URL(path, BASE).pathname, status: res.status, headers: res.headers, text });
  return { res, status: res.status, json, text };
}

/** Assert the error envelope shape; returns the error object. */
export function envelope(json: any): { code: string; message: string; request_id: string; details?: any } {
  if (
    !json?.error ||
    typeof json.error.code !== 'string' ||
    typeof json.error.message !== 'string' ||
    typeof json.error.request_id !== 'string'
  ) {
    throw new Error(`not an error envelope: ${JSON.stringify(json)}`);
  }
  return json.error;
}
