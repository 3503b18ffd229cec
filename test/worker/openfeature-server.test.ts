// The server provider inside workerd, as an app Worker runs it: the real @openfeature/server-sdk,
// its fetch going to this Worker (as a service binding's would), flags from a private database.
// Node and the web provider: test/integration/openfeature.test.ts.
import { ErrorCode } from '@openfeature/core';
import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeServerProvider } from '../../clients/typescript/src/openfeature/server';
import { useFlagsWorld } from './flags-support';
import { serviceHeaders, userToken } from './support';

const w = useFlagsWorld();
afterAll(() => OpenFeature.close());

describe('EdgeServerProvider in workerd', () => {
  it("resolves the Worker's flags per token, and sees a flip once its cache expires", async () => {
    let calls = 0;
    const provider = new EdgeServerProvider({
      baseUrl: 'http://edge.test',
      cacheTtlMs: 200,
      fetch: async (input, init) => {
        calls++;
        const { status, res, json } = await w.fetch(new URL(input).pathname + new URL(input).search, init);
        return new Response(JSON.stringify(json), { status, headers: res.headers });
      },
    });
    await OpenFeature.setProviderAndWait('worker', provider);
    const flags = OpenFeature.getClient('worker');
    const user = crypto.randomUUID();
    const ctx = { targetingKey: user, token: await userToken(user) };

    expect(await flags.getBooleanDetails('global.safe_mode', true, ctx)).toMatchObject({ value: false, variant: 'off', reason: 'STATIC' });
    expect(await flags.getBooleanDetails('learning.enabled', false, ctx)).toMatchObject({ value: true, reason: 'STATIC' });
    expect(calls).toBe(1); // the second evaluation came from the cache
    expect(await flags.getNumberDetails('ranker.policy', 1, ctx)).toMatchObject({ value: 1, errorCode: ErrorCode.TYPE_MISMATCH });

    const put = await w.fetch('/admin/flags/global.safe_mode', {
      method: 'PUT',
      headers: serviceHeaders(),
      json: { value: { enabled: true } },
    });
    expect(put.status).toBe(200);
    await new Promise((r) => setTimeout(r, 250));
    expect(await flags.getBooleanDetails('global.safe_mode', false, ctx)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
    expect(calls).toBe(2);

    // A bad token is a 401 from the API: the caller's default, reason ERROR, nothing thrown.
    expect(await flags.getBooleanDetails('global.safe_mode', false, { token: 'not-a-jwt' })).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: ErrorCode.GENERAL,
      errorMessage: 'GET /v1/flags failed: GET /v1/flags answered 401',
    });
  });
});
