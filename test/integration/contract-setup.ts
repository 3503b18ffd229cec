// Setup file of the integration project (vitest.config.ts): every response a test fetches from a
// local stack it started (test/support/dev-stack.ts) is held against its operation in the OpenAPI
// document after the file — the same check the worker project applies to its own traffic
// (test/support/contract-check.ts). The document is the one the Worker serves:
// createApp().getOpenAPI31Document(OPENAPI_INFO), which test/worker/contract.test.ts checks is byte
// for byte the served /openapi.json. Requests made by child processes (the CLIs) or the browser are
// not seen here; requests that match no operation (cron triggers, unknown paths) are skipped.
import { afterAll, beforeAll, expect } from 'vitest';
import { contractViolations, type Doc, type Observation } from '../support/contract-check';
import { stackOrigins } from '../support/dev-stack';

const observed: Promise<Observation | undefined>[] = [];
const originalFetch = globalThis.fetch;
/** A body still streaming after this long (a test that left it unread on purpose) is not checked. */
const BODY_WAIT_MS = 10_000;

async function record(method: string, url: URL, res: Response): Promise<Observation | undefined> {
  const text = await Promise.race([res.text(), new Promise<undefined>((r) => setTimeout(() => r(undefined), BODY_WAIT_MS).unref())]).catch(
    () => undefined,
  );
  if (text === undefined) return undefined;
  return { method, path: url.pathname, status: res.status, headers: res.headers, text };
}

beforeAll(() => {
  globalThis.fetch = async (input, init) => {
    const res = await originalFetch(input, init);
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request?.url ?? String(input));
    if (stackOrigins.has(url.origin)) observed.push(record((init?.method ?? request?.method ?? 'GET').toUpperCase(), url, res.clone()));
    return res;
  };
});

afterAll(async () => {
  globalThis.fetch = originalFetch;
  const batch = (await Promise.all(observed.splice(0))).filter((o): o is Observation => o !== undefined);
  if (batch.length === 0) return;
  // src/ is Worker code: imported by a computed specifier so the Node type-check does not compile it.
  const appModule = '../../src/app';
  const { createApp, OPENAPI_INFO } = await import(/* @vite-ignore */ appModule);
  const doc = createApp().getOpenAPI31Document(OPENAPI_INFO) as Doc;
  const { violations } = contractViolations(doc, batch);
  expect(violations, 'responses from the local stack that the OpenAPI document does not describe').toEqual([]);
}, 60_000);
