// Setup file of the worker project (vitest.config.ts): after each test file, every response its
// tests observed through support.ts `call` is validated against its operation in the served
// /openapi.json (status documented, required headers, body schema; contract-support.ts). Requests
// that match no operation (404s for unknown paths, /openapi.json itself) are not operations and are
// skipped.
import { afterAll, expect } from 'vitest';
import { checkObserved } from './contract-support';

afterAll(async () => {
  const { violations } = await checkObserved();
  expect(violations, 'responses observed by this file that /openapi.json does not document').toEqual([]);
});
