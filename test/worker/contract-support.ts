// The worker project's side of the contract check (test/support/contract-check.ts): the document the
// Worker serves, and the record of what the tests observed. Tests record with `observe()` (support.ts
// `call` does it for every call); the setup file (contract-setup.ts) checks the record after each file.
import { SELF } from 'cloudflare:test';
import { contractViolations, type Doc, type Observation } from '../support/contract-check';

export { templateFor, violationsOf } from '../support/contract-check';
export type { Observation };

let docPromise: Promise<Doc> | undefined;

/** The document the Worker serves (once per test file). */
export function servedDocument(): Promise<Doc> {
  docPromise ??= SELF.fetch('http://edge.test/openapi.json').then((r) => r.json() as Promise<Doc>);
  return docPromise;
}

// ---------------------------------------------------------------- recording (support.ts `call`)

const observed: Observation[] = [];

/** Record a response a test observed; checked against the document by checkObserved(). */
export function observe(o: Observation): void {
  observed.push(o);
}

/** Every recorded response that breaks the contract; clears the record. */
export async function checkObserved(): Promise<{ checked: number; violations: string[] }> {
  const batch = observed.splice(0);
  if (batch.length === 0) return { checked: 0, violations: [] };
  return contractViolations(await servedDocument(), batch);
}
