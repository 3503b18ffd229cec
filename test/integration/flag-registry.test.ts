// One flag registry (issue 21): src/flags/registry.ts defines every client flag once (schema,
// default, description, owner). The seed rows are generated from it, so are the OpenAPI example of
// GET /v1/flags; the RUNBOOK §1B table and the ARCHITECTURE recipe are checked against it here.
// A failure names the line to paste.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS } from '../../src/flags/registry';
import { connect, freshDatabase } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const registry = Object.entries(FLAGS)
  .map(([key, f]) => ({ key, value: f.default as unknown, owner: f.owner, description: f.description }))
  .sort((a, b) => a.key.localeCompare(b.key));

let fresh: Awaited<ReturnType<typeof freshDatabase>>;
let db: pg.Client;
beforeAll(async () => {
  fresh = await freshDatabase(); // migrated and seeded by `seed()`, exactly as `npm run db:seed` does
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db?.end();
  await fresh?.drop();
});

describe('the flag registry', () => {
  it('seeds feature_flags: every registered flag with its default and description, nothing else', async () => {
    const { rows } = await db.query(
      `SELECT key, value, description, updated_by FROM public.feature_flags WHERE key <> 'ops.pause_jobs' ORDER BY key`,
    );
    expect(rows).toEqual(registry.map((f) => ({ key: f.key, value: f.value, description: f.description, updated_by: 'seed' })));
  });

  it('is the example of GET /v1/flags in the OpenAPI document', async () => {
    const appModule = '../../src/app'; // Worker code: a computed specifier keeps it out of the Node type-check
    const { createApp, OPENAPI_INFO } = await import(/* @vite-ignore */ appModule);
    const doc = createApp().getOpenAPI31Document(OPENAPI_INFO);
    const ref: string = doc.paths['/v1/flags'].get.responses['200'].content['application/json'].schema.$ref;
    const schema = doc.components.schemas[ref.split('/').at(-1)!];
    expect(schema.properties.flags.example).toEqual(Object.fromEntries(registry.map((f) => [f.key, f.value])));
  });

  it('is the flag table of docs/RUNBOOK.md §1B (key, value, owner, description)', () => {
    const md = read('docs/RUNBOOK.md');
    const start = md.indexOf('### B. Feature flags bootstrap');
    const section = md.slice(start, md.indexOf('\n### ', start + 1));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| `([^`]+)` \| ([^|]+?) \| ([^|]+?) \|$/gm)].map((m) => ({
      key: m[1]!,
      value: JSON.parse(m[2]!) as unknown,
      owner: m[3]!,
      description: m[4]!,
    }));
    const wanted = registry.map(
      (f) => `| \`${f.key}\` | \`${JSON.stringify(f.value).replace(/([:,])/g, '$1 ')}\` | ${f.owner} | ${f.description} |`,
    );
    expect(rows, `docs/RUNBOOK.md §1B should list, in key order:\n${wanted.join('\n')}`).toEqual(registry);
  });

  it('docs/ARCHITECTURE.md says how to add a flag, in one place', () => {
    const md = read('docs/ARCHITECTURE.md');
    const start = md.indexOf('**Adding a flag.**');
    expect(start, 'ARCHITECTURE.md has an "Adding a flag" entry').toBeGreaterThan(0);
    expect(md.slice(start, md.indexOf('\n\n', start))).toContain('src/flags/registry.ts');
  });
});
