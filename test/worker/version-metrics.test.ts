// Every request is also recorded under `version:<deployment version id>`, so the canary gate can
// judge a gradual deployment's new version on its own traffic; responses name the version.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { eventually, faultHeaders } from './slo-support';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

describe('per-version request metrics', () => {
  it('records requests and 5xx of this version under version:<id> and names it in x-worker-version', async () => {
    const id = `test-version-${crypto.randomUUID()}`;
    const versionEnv = { ...env, CF_VERSION_METADATA: { id, tag: 'canary', timestamp: new Date().toISOString() } };
    const app = createApp();
    const ctx = createExecutionContext();
    const statuses: number[] = [];
    let versionHeader: string | null = null;
    for (let i = 0; i < 6; i++) {
      const op = `test.version.${crypto.randomUUID()}`;
      const res = await app.request('/test-traffic', { headers: faultHeaders({ op, status: i < 2 ? 503 : undefined }) }, versionEnv, ctx);
      statuses.push(res.status);
      versionHeader = res.headers.get('x-worker-version');
    }
    await waitOnExecutionContext(ctx);
    expect(statuses.filter((s) => s === 503)).toHaveLength(2);
    expect(versionHeader).toBe(id);
    const row = await eventually(
      async () => {
        const [r] = await db.query<{ requests: string; errors: string }>(
          'SELECT requests, errors FROM public.vw_kernel_slos WHERE operation = $1',
          [`version:${id}`],
        );
        return r && Number(r.requests) === 6 ? r : undefined;
      },
      20_000,
      `6 requests under version:${id}`,
    );
    expect(Number(row.errors)).toBe(2);
  });
});
