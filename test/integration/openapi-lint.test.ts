// The OpenAPI document passes Redocly's recommended ruleset with 0 errors (issue 15): what client
// generators and validating proxies (Prism) are built around. The document linted is the one the
// Worker serves: createApp().getOpenAPI31Document(OPENAPI_INFO) is what `app.doc31('/openapi.json')`
// answers with, and test/worker/contract.test.ts checks the served bytes equal it inside workerd.
//
// The real CLI is run (`redocly lint`, the command a developer or CI runs), not the library beneath
// it: @redocly/cli is the pinned devDependency, its openapi-core only a transitive one. It runs in
// this Node project because workerd cannot spawn processes or write files.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'openapi-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Warnings the recommended ruleset may keep, and why (anything else fails the test). */
const ACCEPTED_WARNINGS: Record<string, (pointer: string) => boolean> = {
  // A private service: no license to state.
  'info-license': (p) => p === '#/info',
  // The dashboard's HTML form posts answer 303 See Other (post/redirect/get), never a 2xx.
  'operation-2xx-response': (p) => p.startsWith('#/paths/~1admin~1dashboard~1'),
};

describe('the served OpenAPI document under `redocly lint` (recommended rules)', () => {
  it('has 0 errors and only the accepted warnings', async () => {
    // src/ is Worker code: imported by a computed specifier so the Node type-check does not compile it.
    const appModule = '../../src/app';
    const { createApp, OPENAPI_INFO } = await import(/* @vite-ignore */ appModule);
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(createApp().getOpenAPI31Document(OPENAPI_INFO), null, 2));
    const { stdout } = await promisify(execFile)(
      path.join(ROOT, 'node_modules/.bin/redocly'),
      ['lint', '--extends=recommended', '--format=json', file],
      { cwd: dir, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, maxBuffer: 16 << 20 },
    ).catch((err: { stdout?: string; stderr?: string }) => {
      // Exit 1 on errors: the JSON report is still on stdout and says which.
      if (err.stdout) return { stdout: err.stdout };
      throw new Error(`redocly did not run: ${err.stderr ?? err}`);
    });
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    const describe = (p: (typeof report.problems)[number]) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`;
    expect(report.problems.filter((p) => p.severity === 'error').map(describe)).toEqual([]);
    expect(report.totals.errors).toBe(0);
    const unexpected = report.problems.filter((p) => !ACCEPTED_WARNINGS[p.ruleId]?.(p.location[0]?.pointer ?? ''));
    expect(unexpected.map(describe)).toEqual([]);
  }, 60_000);
});
