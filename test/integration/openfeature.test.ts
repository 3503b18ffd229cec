// The OpenFeature providers of clients/typescript/src/openfeature/ through the real
// @openfeature/web-sdk and @openfeature/server-sdk against the real Worker (`npm run dev`: workerd,
// embedded Postgres, throwaway data dir), as a client app and an app server would use them:
//   - both resolve the flags with our reasons and variants; a signed-in user's rollout bucket
//     counts (TARGETING_MATCH), an unknown key is FLAG_NOT_FOUND with the caller's default;
//   - on-call turns safe mode on through the admin API and the web provider, refreshing on its
//     timer, emits PROVIDER_CONFIGURATION_CHANGED naming global.safe_mode, after which the client
//     resolves true; the server provider sees it once its short cache expires.
// Crons are off: the admin API writes Postgres and KV itself, nothing else has to run.
import { ErrorCode } from '@openfeature/core';
import { OpenFeature as ServerOpenFeature } from '@openfeature/server-sdk';
import { type EventDetails, ProviderEvents, OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeServerProvider } from '../../clients/typescript/src/openfeature/server';
import { EdgeWebProvider } from '../../clients/typescript/src/openfeature/web';
import { type DevStack, leftoverProcesses, startDevStack } from '../support/dev-stack';

const USER = '00000000-0000-0000-0000-0000000000f1';
const SERVICE = { authorization: 'Bearer dev-service-role-key', 'content-type': 'application/json' };

let stack: DevStack | undefined;
afterAll(async () => {
  await Promise.allSettled([WebOpenFeature.close(), ServerOpenFeature.close()]);
  await stack?.stop();
});

// The stack reads .dev.vars: the secret of `npm run token`.
const token = () =>
  new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(USER)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode('dev-jwt-secret'));

async function putFlag(base: string, key: string, value: unknown): Promise<void> {
  const res = await fetch(`${base}/admin/flags/${key}`, {
    method: 'PUT',
    headers: SERVICE,
    body: JSON.stringify({ value, reason: 'openfeature test' }),
  });
  expect(res.status, await res.text()).toBe(200);
}

describe('OpenFeature providers against the local stack', () => {
  it('resolve reasons and rollouts, and the web provider reports a safe-mode flip as a configuration change', async () => {
    stack = await startDevStack({ args: ['--no-cron'] });
    const { base } = stack;
    const jwt = await token();
    // Every user in: a rollout decides for signed-in and anonymous callers alike.
    await putFlag(base, 'crush_mode.enabled', { enabled: false, rollout: { percent: 100, value: { enabled: true } } });

    const web = new EdgeWebProvider({ baseUrl: base, token: () => jwt, refreshIntervalMs: 300 });
    await WebOpenFeature.setProviderAndWait('app', web, { targetingKey: USER });
    const app = WebOpenFeature.getClient('app');
    expect(app.getBooleanDetails('global.safe_mode', true)).toMatchObject({ value: false, variant: 'off', reason: 'STATIC' });
    expect(app.getBooleanDetails('crush_mode.enabled', false)).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    expect(app.getObjectDetails('ranker.policy', {})).toMatchObject({
      value: { version: 'epsilon_greedy_v1', epsilon: 0.08 },
      variant: 'epsilon_greedy_v1',
      reason: 'STATIC',
    });
    expect(app.getBooleanDetails('no.such_flag', true)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });

    const server = new EdgeServerProvider({ baseUrl: base, cacheTtlMs: 1_000 });
    await ServerOpenFeature.setProviderAndWait('api', server);
    const api = ServerOpenFeature.getClient('api');
    const asUser = { targetingKey: USER, token: jwt };
    expect(await api.getBooleanDetails('crush_mode.enabled', false, asUser)).toMatchObject({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
    });
    // Anonymous callers are never in a rollout: the base value, still decided by the rollout.
    expect(await api.getBooleanDetails('crush_mode.enabled', true, {})).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'TARGETING_MATCH',
    });
    expect(await api.getBooleanDetails('global.safe_mode', true, asUser)).toMatchObject({ value: false, reason: 'STATIC' });
    expect(await api.getStringDetails('ranker.policy', 'x', asUser)).toMatchObject({
      value: 'x',
      reason: 'ERROR',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });

    // The flip, as on-call makes it; the web provider notices on a refresh tick.
    const changed = new Promise<EventDetails | undefined>((resolve) => app.addHandler(ProviderEvents.ConfigurationChanged, resolve));
    const flippedAt = Date.now();
    await putFlag(base, 'global.safe_mode', { enabled: true });
    const event = await Promise.race([
      changed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no PROVIDER_CONFIGURATION_CHANGED within 15 s')), 15_000)),
    ]);
    console.log(`safe-mode PUT → PROVIDER_CONFIGURATION_CHANGED in ${Date.now() - flippedAt} ms`);
    expect(event?.flagsChanged).toEqual(['global.safe_mode']);
    expect(app.getBooleanDetails('global.safe_mode', false)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });

    // The server provider: the same answer once its 1 s cache has expired.
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await api.getBooleanDetails('global.safe_mode', false, asUser)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });

    await Promise.all([WebOpenFeature.close(), ServerOpenFeature.close()]);
    const { pgPort, port } = stack;
    await stack.stop();
    stack = undefined;
    expect(await leftoverProcesses([`-p ${pgPort}`, `127.0.0.1:${port}`])).toEqual([]);
  }, 120_000);
});
