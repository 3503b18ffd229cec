// docs/RUNBOOK.md "Retention and erasure, by store" is the retention statement operators and
// client apps read. It must agree with what the system does:
//   - every retention_policies row is in it, with the seeded window in its "kept for" column;
//   - every gc_* function (GC_FUNCTIONS) is in it, next to the cron job that really calls it (the
//     job is run against a fresh database and the function it calls is recorded), and that
//     function's definition deletes from the tables of the row and reads the row's window;
//   - every job it names is a cron job of src/jobs.ts;
//   - every table public.erasure_targets covers (the catalog scan of erasure-coverage.test.ts keeps
//     that complete) is in it, with how erasure reaches it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgDb } from '../../scripts/lib/pg-db';
import { connect, freshDatabase } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HEADING = '#### Retention and erasure, by store';

interface Row {
  store: string;
  holds: string;
  kept: string;
  policies: string[];
  removedBy: string;
  erasure: string;
  line: number;
}

const codes = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

function retentionTable(md: string): Row[] {
  const lines = md.split('\n');
  const start = lines.indexOf(HEADING);
  expect(start, `${HEADING} in docs/RUNBOOK.md`).toBeGreaterThan(0);
  const rows: Row[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) {
    const l = lines[i]!;
    if (!l.startsWith('| ') || l.startsWith('| store ') || l.startsWith('|---')) continue;
    const cells = l
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    expect(cells, `docs/RUNBOOK.md line ${i + 1}: six columns`).toHaveLength(6);
    const [store, holds, kept, policies, removedBy, erasure] = cells as [string, string, string, string, string, string];
    rows.push({ store, holds, kept, policies: codes(policies), removedBy, erasure, line: i + 1 });
  }
  return rows;
}

/** Tables named in a store cell ("`public.x`, `public.y`"), without the schema. */
const tablesOf = (row: Row) => codes(row.store).flatMap((c) => (/^(public|auth)\.\w+$/.test(c) ? [c] : []));
const jobsOf = (cell: string) => codes(cell).filter((c) => /^[a-z]+(-[a-z]+)+$/.test(c));
const functionsOf = (cell: string) => codes(cell).flatMap((c) => /^(gc_\w+)\(\)$/.exec(c)?.[1] ?? []);
/** The first "N days|hours" of a cell as a Postgres interval literal. */
const firstWindow = (cell: string) => /(\d+)\s+(day|days|hour|hours)\b/.exec(cell)?.slice(1, 3).join(' ');

// src/ is Worker code: imported by a computed specifier so the Node type-check does not compile it.
interface JobLike {
  name: string;
  run(c: unknown): Promise<unknown>;
}
async function workerModules() {
  const jobsModule = '../../src/jobs';
  const retentionModule = '../../src/db/retention';
  const { schedules } = (await import(/* @vite-ignore */ jobsModule)) as { schedules: Record<string, JobLike[]> };
  const { GC_FUNCTIONS } = (await import(/* @vite-ignore */ retentionModule)) as { GC_FUNCTIONS: readonly string[] };
  return { jobs: Object.values(schedules).flat(), GC_FUNCTIONS };
}

const rows = retentionTable(readFileSync(path.join(ROOT, 'docs/RUNBOOK.md'), 'utf8'));
let db: pg.Client;
let fresh: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db?.end();
  await fresh?.drop();
});

describe('docs/RUNBOOK.md retention table', () => {
  it('states every retention_policies window as seeded, and names no policy that does not exist', async () => {
    const policies = (await db.query<{ table_name: string }>('SELECT table_name FROM public.retention_policies ORDER BY 1')).rows.map(
      (r) => r.table_name,
    );
    expect(policies.length).toBeGreaterThan(5);
    const documented = rows.flatMap((r) => r.policies);
    expect([...documented].sort()).toEqual(policies);
    const problems: string[] = [];
    for (const r of rows) {
      if (r.policies.length === 0) continue;
      const window = firstWindow(r.kept);
      if (!window) {
        problems.push(`line ${r.line}: "kept for" states no window (${r.kept})`);
        continue;
      }
      for (const p of r.policies) {
        const { rows: same } = await db.query<{ same: boolean; retain: string }>(
          'SELECT retain = $2::interval AS same, retain::text FROM public.retention_policies WHERE table_name = $1',
          [p, window],
        );
        if (!same[0]!.same) problems.push(`line ${r.line}: ${p} keeps ${same[0]!.retain}, the table says ${window}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('names each gc_* function next to the job that calls it, and the function deletes that row’s tables with its window', async () => {
    const { jobs, GC_FUNCTIONS } = await workerModules();
    const documented = new Map<string, string>(); // function → job
    for (const r of rows) {
      const fns = functionsOf(r.removedBy);
      const gcJobs = jobsOf(r.removedBy).filter((j) => j.startsWith('gc-'));
      expect(fns.length, `line ${r.line}: one gc function per gc job`).toBe(gcJobs.length);
      for (const [i, fn] of fns.entries()) documented.set(fn, gcJobs[i]!);
    }
    expect([...documented.keys()].sort()).toEqual([...GC_FUNCTIONS].sort());

    // Run every gc job against this fresh database and record which function it really calls.
    const calls: string[] = [];
    const recording = new Proxy(db, {
      get(target, prop) {
        if (prop === 'query') {
          return (text: unknown, ...rest: unknown[]) => {
            const sqlText = typeof text === 'string' ? text : (text as { text?: string }).text;
            for (const m of (sqlText ?? '').matchAll(/public\.(gc_\w+)\(/g)) calls.push(m[1]!);
            return (target.query as (...a: unknown[]) => unknown).call(target, text, ...rest);
          };
        }
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const silent = { info() {}, warn() {}, error() {}, debug() {} };
    for (const [fn, jobName] of documented) {
      const job = jobs.find((j) => j.name === jobName);
      expect(job, `${jobName} is a cron job of src/jobs.ts`).toBeDefined();
      calls.length = 0;
      await job!.run({ db: () => pgDb(recording), env: {}, log: silent, scheduledTime: Date.now(), id: 'retention-doc' });
      expect(calls, `${jobName} calls ${fn}()`).toContain(fn);
    }

    const problems: string[] = [];
    for (const r of rows) {
      for (const fn of functionsOf(r.removedBy)) {
        const { rows: def } = await db.query<{ src: string }>('SELECT pg_get_functiondef($1::regproc) AS src', [`public.${fn}`]);
        const src = def[0]!.src;
        for (const t of tablesOf(r))
          if (!src.includes(t.split('.')[1]!)) problems.push(`line ${r.line}: ${fn}() does not delete from ${t}`);
        for (const p of r.policies) if (!src.includes(`'${p}'`)) problems.push(`line ${r.line}: ${fn}() does not read the ${p} window`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('names only cron jobs that exist', async () => {
    const { jobs } = await workerModules();
    const names = new Set(jobs.map((j) => j.name));
    const unknown = rows.flatMap((r) =>
      jobsOf(r.removedBy)
        .filter((j) => !names.has(j))
        .map((j) => `line ${r.line}: ${j}`),
    );
    expect(unknown).toEqual([]);
  });

  it('covers every erasure target, with how erasure reaches it', async () => {
    const { rows: targets } = await db.query<{ t: string; how: string }>(
      `SELECT DISTINCT table_schema || '.' || table_name AS t, how FROM public.erasure_targets ORDER BY 1`,
    );
    expect(targets.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const { t, how } of targets) {
      const row = rows.find((r) => tablesOf(r).includes(t));
      if (!row) problems.push(`${t}: no row`);
      else if (how === 'delete' && !row.erasure.includes('erase_user_rows()'))
        problems.push(`line ${row.line}: ${t} is erased by erase_user_rows()`);
      else if (how === 'clear_on_completion' && !/cleared/.test(row.erasure))
        problems.push(`line ${row.line}: ${t} is cleared on completion`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
    // The stores outside Postgres are stated too.
    for (const store of ['KV `FEATURES`', 'KV `LIMITS`', 'Durable Object `RateLimiter`', 'Queues `EVENTS`'])
      expect(
        rows.some((r) => r.store.startsWith(store)),
        store,
      ).toBe(true);
  });
});
