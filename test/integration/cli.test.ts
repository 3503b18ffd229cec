// Every npm-script CLI, spawned the way `npm run` runs it (issue 21): `--help` prints the usage and
// exits 0 without touching anything; a wrong option is one `error:` line, exit 2, no stack trace;
// the target (API URL / database host and name) is printed before the first write; `--env
// staging|production` with a local target is refused before any request; `npm run dev` refuses a
// DATABASE_URL that is not on this machine unless --allow-remote-database; `npm run rollback` is
// the alias of `ops:halt` / `ops:resume` and says so.
// "Nothing was sent" is proven by a tripwire: a local HTTP listener (API_URL) that only counts the
// requests it receives, and the fake wrangler (which records its invocations).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeWrangler } from '../support/fake-wrangler';
import { freshDatabase } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** npm scripts that run one of our scripts: name → [script file, words package.json passes]. */
const OUR_SCRIPTS = Object.entries(pkg.scripts).flatMap(([name, cmd]) => {
  const m = /^(?:tsx|node --import tsx) (scripts\/[\w-]+\.ts)((?: [\w:-]+)*)$/.exec(cmd);
  return m ? [{ name, file: m[1]!, fixed: m[2]!.trim().split(/\s+/).filter(Boolean) }] : [];
});

let tripwire: http.Server;
let apiUrl: string;
let requests: string[] = [];
const fake = fakeWrangler();

beforeAll(async () => {
  tripwire = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res
      .writeHead(418, { 'content-type': 'application/json' })
      .end('{"error":{"code":"tripwire","message":"this test expects no request"}}');
  });
  await new Promise<void>((r) => tripwire.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(tripwire.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => tripwire.close(r));
});

/** Run an npm script's command line (package.json's words first), as `npm run <name> -- …args`. */
/** `env` values replace the defaults below; `undefined` unsets the variable. */
function run(
  name: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const script = OUR_SCRIPTS.find((s) => s.name === name);
  if (!script) throw new Error(`no npm script ${name} running scripts/*.ts`);
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    API_URL: apiUrl,
    SERVICE_ROLE_KEY: 'tripwire-key',
    DATABASE_URL: 'postgres://postgres:secret-password@127.0.0.1:1/not_used',
    PATH: fake.path,
    FAKE_WRANGLER_DIR: fake.dir,
    DEPLOY_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'cli-deploy-state-')),
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script.file, ...script.fixed, ...args], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

const STACK_TRACE = /^\s+at .+[(:]\d+/m;

describe('--help', () => {
  it('every npm script of ours prints its usage on stdout, exits 0, and sends nothing anywhere', async () => {
    expect(OUR_SCRIPTS.map((s) => s.name)).toEqual(expect.arrayContaining(['ops:halt', 'ops:resume', 'rollback', 'dev', 'flags', 'smoke']));
    requests = [];
    const callsBefore = fake.calls().length;
    for (const { name } of OUR_SCRIPTS) {
      for (const flag of ['--help', '-h']) {
        const res = await run(name, [flag]);
        expect(res.code, `${name} ${flag}: ${res.err}`).toBe(0);
        expect(res.out, `${name} ${flag}`).toMatch(/usage/);
        expect(res.err, `${name} ${flag}`).not.toMatch(STACK_TRACE);
        expect(res.err, `${name} ${flag}`).not.toContain('target:');
      }
    }
    expect(requests).toEqual([]);
    expect(fake.calls().length).toBe(callsBefore);
  }, 240_000);

  it('a wrong option is one error line and the usage on stderr, exit 2, no stack trace', async () => {
    for (const name of ['flags', 'rollback', 'smoke', 'deploy:canary', 'ops:halt', 'db:migrate', 'dev', 'dlq']) {
      const res = await run(name, ['--no-such-option']);
      expect(res.code, `${name}: ${res.err}`).toBe(2);
      expect(res.err, name).toMatch(/^error: .*--no-such-option/m);
      expect(res.err, name).toMatch(/usage/);
      expect(res.err, name).not.toMatch(STACK_TRACE);
    }
    expect(requests).toEqual([]);
  }, 120_000);
});

describe('--env staging|production with a local target', () => {
  const refusals: [string, string[]][] = [
    ['ops:halt', ['--env', 'production', '--reason', 'x']],
    ['ops:resume', ['--env', 'staging']],
    ['rollback', ['--env', 'production']],
    ['flags', ['set', 'global.safe_mode', '{"enabled":true}', '--env', 'production']],
    ['dlq', ['redrive', '--all', '--env', 'production']],
    ['alerts', ['silence', 'http_5xx_rate', '30', '--env', 'production']],
    ['slo', ['--env', 'production']],
    ['ope', ['--env', 'staging']],
    ['smoke', ['--env', 'production', '--skip-safe-mode']],
  ];
  it.each(refusals)(
    'npm run %s refuses the local API before any request',
    async (name, args) => {
      requests = [];
      const res = await run(name, args);
      expect(res.code, res.err).toBe(1);
      expect(res.err).toMatch(/^error: --env (production|staging), but the API is http:\/\/127\.0\.0\.1:\d+ \(this machine\)/m);
      expect(res.err).toContain('docs/RUNBOOK.md §0');
      expect(res.err).not.toContain('target:');
      expect(requests).toEqual([]);
    },
    60_000,
  );

  it("the issue's case: `npm run rollback -- --env production` with API_URL unset (or empty) acts on nothing", async () => {
    for (const API_URL of ['', undefined]) {
      const child = await run('rollback', ['--env', 'production'], { API_URL });
      expect(child.code, child.err).toBe(1);
      expect(child.err).toMatch(/^error: --env production, but the API is http:\/\/127\.0\.0\.1:8787 \(this machine\)/m);
    }
  }, 60_000);

  it.each([
    ['db:migrate', ['--env', 'production']],
    ['db:seed', ['--env', 'staging']],
    ['canary:check', ['--env', 'production']],
  ])(
    'npm run %s refuses a local database (host and name shown, never the password)',
    async (name, args) => {
      const res = await run(name, args);
      expect(res.code, res.err).toBe(name === 'canary:check' ? 2 : 1);
      expect(res.err).toMatch(/^error: --env (production|staging), but the database is 127\.0\.0\.1:1\/not_used \(this machine\)/m);
      expect(res.err).not.toContain('secret-password');
      expect(res.err).not.toMatch(/ECONNREFUSED|connect/);
    },
    60_000,
  );

  it('deploy:* refuses a local gate/ledger database for an explicit --env, before calling wrangler', async () => {
    const before = fake.calls().length;
    const res = await run('deploy:canary', ['--percent', '5', '--env', 'production']);
    expect(res.code, res.err).toBe(1);
    expect(res.err).toMatch(/^error: --env production, but the gate\/ledger database is 127\.0\.0\.1:1\/not_used \(this machine\)/m);
    expect(fake.calls().length).toBe(before);
  }, 60_000);

  it('without --env the local stack is the target, and the script says so before its first request', async () => {
    requests = [];
    const res = await run('ops:halt', ['--reason', 'cli test']);
    // The tripwire answers 418: the first write fails, after the target line.
    expect(res.code).toBe(1);
    expect(res.err).toMatch(new RegExp(`^target: API ${apiUrl}\\n(.|\\n)*error: 1\\. safe mode ON`, 'm'));
    expect(requests).toEqual(['PUT /admin/flags/global.safe_mode']);
  }, 60_000);
});

describe('targets printed before writes', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('db:migrate and db:seed name the database (host/name, no user or password) before touching it', async () => {
    const url = new URL(db.url);
    for (const name of ['db:migrate', 'db:seed']) {
      // --env development is not a deployed environment: a local database is fine.
      const res = await run(name, ['--env', 'development'], { DATABASE_URL: db.url });
      expect(res.code, res.err).toBe(0);
      expect(res.err.split('\n')[0]).toBe(`target: database ${url.host}${url.pathname} (--env development)`);
      expect(res.out).toMatch(name === 'db:migrate' ? /^up to date \(\d+ applied before\)$/m : /^seeded: /m);
    }
  }, 60_000);
});

describe('npm run dev and a remote DATABASE_URL', () => {
  it('refuses it without --allow-remote-database, naming host and database but not the password', async () => {
    const res = await run('dev', [], {
      DATABASE_URL: 'postgres://op:hunter2@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=require',
      PORT: '1',
    });
    expect(res.code, res.err).toBe(1);
    expect(res.err).toMatch(/^error: DATABASE_URL points at ep-cool-1\.eu-central-1\.aws\.neon\.tech\/neondb, not this machine/m);
    expect(res.err).toContain('--allow-remote-database');
    expect(res.err).not.toContain('hunter2');
    expect(res.out).not.toMatch(/migrated|postgres {2}/);
  }, 60_000);

  it('with --allow-remote-database it goes on (here to the port check, which the tripwire holds)', async () => {
    const port = String((tripwire.address() as AddressInfo).port);
    const res = await run('dev', ['--allow-remote-database'], {
      DATABASE_URL: 'postgres://op:hunter2@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=require',
      PORT: port,
    });
    expect(res.code, res.err).toBe(1);
    expect(res.err).toMatch(new RegExp(`^error: port ${port} is in use`, 'm'));
    expect(res.err).not.toContain('not this machine');
  }, 60_000);

  it('a local DATABASE_URL needs no flag', async () => {
    const port = String((tripwire.address() as AddressInfo).port);
    const res = await run('dev', [], { DATABASE_URL: 'postgres://postgres:postgres@localhost:1/postgres', PORT: port });
    expect(res.code, res.err).toBe(1);
    expect(res.err).toMatch(new RegExp(`^error: port ${port} is in use`, 'm'));
  }, 60_000);
});

describe('npm run rollback (renamed)', () => {
  it('--help names ops:halt, ops:resume and deploy:rollback', async () => {
    const res = await run('rollback', ['--help']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('npm run ops:halt');
    expect(res.out).toContain('npm run ops:resume');
    expect(res.out).toContain('npm run deploy:rollback');
  }, 60_000);

  it('prints the new names before doing what it always did', async () => {
    requests = [];
    const res = await run('rollback', ['--undo', '--reason', 'alias test']);
    expect(res.err).toMatch(/^note: `npm run rollback` is renamed(.|\n)*npm run ops:resume(.|\n)*target: API /m);
    // --undo is ops:resume: the first step resumes background work.
    expect(requests).toEqual(['PUT /admin/ops/pause']);
  }, 60_000);
});
