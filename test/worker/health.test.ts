import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

describe('GET /health', () => {
  it('answers 200 with every check ok against the real Postgres, KV and Queues', async () => {
    const res = await SELF.fetch('http://edge.test/health');
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.checks.db.ok).toBe(true);
    expect(body.checks.kv.ok).toBe(true);
    expect(body.checks.queues.ok).toBe(true);
    expect(body.checks.flags.ok).toBe(true);
    expect(body.safe_mode).toBe(false);
    expect(body.version.app).toMatch(/^\d+\.\d+\.\d+$/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('is also served at the guide path /functions/v1/health', async () => {
    const res = await SELF.fetch('http://edge.test/functions/v1/health');
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).checks.db.ok).toBe(true);
  });
});
