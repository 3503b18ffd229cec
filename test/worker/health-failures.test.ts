// /health when Postgres is unreachable or hangs: 503 naming db, promptly, without crashing.
import { env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/app';

describe('GET /health with a broken database', () => {
  it('503 naming db when nothing listens on the Postgres port', async () => {
    const app = createApp();
    const res = await app.request('/health', {}, { ...env, DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/postgres' });
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.status).toBe('error');
    expect(body.failing).toContain('db');
    expect(body.checks.kv.ok).toBe(true);
    expect(body.checks.queues.ok).toBe(true);
  });

  it('503 with a timeout (bounded, not hanging) when Postgres accepts but never answers', async () => {
    const app = createApp();
    const started = Date.now();
    const res = await app.request(
      '/health',
      {},
      {
        ...env,
        DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${inject('blackholePort')}/postgres`,
      },
    );
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.checks.db).toMatchObject({ ok: false, error: 'timeout' });
    expect(elapsed).toBeLessThan(10_000);
  });
});
