// The OpenFeature providers' mapping of GET /v1/flags?details=true to resolution details, and
// their behaviour with the API unreachable, through the real SDKs (a closed port, no stand-in).
// The providers against the real Worker: test/integration/openfeature.test.ts.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { ErrorCode, StandardResolutionReasons } from '@openfeature/core';
import { OpenFeature as ServerOpenFeature } from '@openfeature/server-sdk';
import { ProviderEvents, OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { describe, expect, it } from 'vitest';
import { resolveFlag } from '../../clients/typescript/src/openfeature/mapping';
import { EdgeServerProvider } from '../../clients/typescript/src/openfeature/server';
import { EdgeWebProvider } from '../../clients/typescript/src/openfeature/web';
import { changedKeys, type WireFlagDetails } from '../../clients/typescript/src/openfeature/wire';

const details: WireFlagDetails = {
  'global.safe_mode': { value: { enabled: true }, variant: 'on', reason: 'STATIC' },
  'ranker.policy': { value: { version: 'v2', epsilon: 0.1 }, variant: 'v2', reason: 'TARGETING_MATCH' },
  'crush_mode.enabled': { value: { enabled: false }, variant: 'off', reason: 'DEFAULT' },
  'learning.enabled': { value: { enabled: false }, variant: 'off', reason: 'ERROR', errorCode: 'PARSE_ERROR', errorMessage: 'not JSON' },
  'marketplace.suggest': { value: { enabled: true }, reason: 'ERROR', errorCode: 'SOMETHING_NEW' },
  plain: { value: 'text', reason: 'SOMETHING_NEWER' },
};

describe('resolveFlag', () => {
  it('maps our reasons and variants; booleans are read from `enabled`', () => {
    expect(resolveFlag(details, 'global.safe_mode', false, 'boolean')).toEqual({ value: true, variant: 'on', reason: 'STATIC' });
    expect(resolveFlag(details, 'crush_mode.enabled', true, 'boolean')).toEqual({ value: false, variant: 'off', reason: 'DEFAULT' });
    expect(resolveFlag(details, 'ranker.policy', {}, 'object')).toEqual({
      value: { version: 'v2', epsilon: 0.1 },
      variant: 'v2',
      reason: StandardResolutionReasons.TARGETING_MATCH,
    });
    // A reason this version does not know is UNKNOWN, not an error.
    expect(resolveFlag(details, 'plain', 'x', 'string')).toEqual({ value: 'text', reason: StandardResolutionReasons.UNKNOWN });
  });

  it("every error is the caller's default with reason ERROR and OpenFeature's code", () => {
    const error = (errorCode: ErrorCode, value: unknown) => expect.objectContaining({ value, reason: 'ERROR', errorCode });
    expect(resolveFlag(details, 'learning.enabled', true, 'boolean')).toEqual({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.PARSE_ERROR,
      errorMessage: 'not JSON',
    });
    expect(resolveFlag(details, 'marketplace.suggest', false, 'boolean')).toEqual(error(ErrorCode.GENERAL, false));
    expect(resolveFlag(details, 'no.such_flag', true, 'boolean')).toEqual(error(ErrorCode.FLAG_NOT_FOUND, true));
    expect(resolveFlag(details, 'toString', true, 'boolean')).toEqual(error(ErrorCode.FLAG_NOT_FOUND, true));
    expect(resolveFlag(details, 'ranker.policy', false, 'boolean')).toEqual(error(ErrorCode.TYPE_MISMATCH, false));
    expect(resolveFlag(details, 'global.safe_mode', 0, 'number')).toEqual(error(ErrorCode.TYPE_MISMATCH, 0));
    expect(resolveFlag(details, 'plain', {}, 'object')).toEqual(error(ErrorCode.TYPE_MISMATCH, {}));
    expect(resolveFlag(undefined, 'global.safe_mode', true, 'boolean', 'GET /v1/flags failed: refused')).toEqual({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.GENERAL,
      errorMessage: 'GET /v1/flags failed: refused',
    });
  });

  it('changedKeys names the flags whose value changed, whatever the key order', () => {
    const next: WireFlagDetails = {
      ...details,
      'ranker.policy': { value: { epsilon: 0.1, version: 'v2' }, reason: 'STATIC' },
      'global.safe_mode': { value: { enabled: false }, reason: 'STATIC' },
      added: { value: 1, reason: 'STATIC' },
    };
    delete next.plain;
    expect(changedKeys(details, next)).toEqual(['added', 'global.safe_mode', 'plain']);
    expect(changedKeys(details, details)).toEqual([]);
  });
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('the API unreachable, through the real SDKs', () => {
  it("both providers answer the caller's default with reason ERROR (GENERAL) and throw nothing", async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}`;
    const web = new EdgeWebProvider({ baseUrl, refreshIntervalMs: 0 });
    await WebOpenFeature.setProviderAndWait('unit-unreachable', web);
    const webClient = WebOpenFeature.getClient('unit-unreachable');
    expect(webClient.getBooleanDetails('global.safe_mode', true)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.GENERAL,
      errorMessage: expect.stringMatching(/^GET \/v1\/flags failed: /),
    });

    await ServerOpenFeature.setProviderAndWait('unit-unreachable', new EdgeServerProvider({ baseUrl }));
    const serverClient = ServerOpenFeature.getClient('unit-unreachable');
    expect(await serverClient.getBooleanDetails('global.safe_mode', false, { token: 'x' })).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: ErrorCode.GENERAL,
    });
    await Promise.all([WebOpenFeature.close(), ServerOpenFeature.close()]);
  });
});

describe('the web provider after an unreachable start', () => {
  it('announces the first answer as a configuration change of every flag, then resolves it', async () => {
    // A real HTTP server: 503 (the API down) until `up`, then an answer in the Worker's shape.
    let up = false;
    const srv = createHttpServer((_req, res) => {
      if (!up) return res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ flags: {}, details }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const { port } = srv.address() as { port: number };
      const web = new EdgeWebProvider({ baseUrl: `http://127.0.0.1:${port}`, refreshIntervalMs: 0 });
      await WebOpenFeature.setProviderAndWait('unit-late', web);
      const client = WebOpenFeature.getClient('unit-late');
      expect(client.getBooleanDetails('global.safe_mode', false)).toMatchObject({
        value: false,
        reason: 'ERROR',
        errorMessage: 'GET /v1/flags failed: GET /v1/flags answered 503',
      });
      const changed: string[][] = [];
      client.addHandler(ProviderEvents.ConfigurationChanged, (e) => changed.push(e?.flagsChanged ?? []));
      up = true;
      await web.refresh();
      expect(changed).toEqual([Object.keys(details).sort()]);
      expect(client.getBooleanDetails('global.safe_mode', false)).toMatchObject({ value: true, reason: 'STATIC' });
      await web.refresh(); // the same answer again: no event
      expect(changed).toHaveLength(1);
    } finally {
      await WebOpenFeature.close();
      await new Promise((r) => srv.close(r));
    }
  });
});
