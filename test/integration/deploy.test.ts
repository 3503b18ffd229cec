// Canary deploy automation, with a fake wrangler on PATH recording the exact invocations
// (the real one needs a Cloudflare account) and a real database behind the gate.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeWrangler } from '../support/fake-wrangler';
import { connect, freshDatabase } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dbs: { drop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

function deploy(args: string[], fake: { path: string; dir: string }, env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/deploy.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: fake.path,
      FAKE_WRANGLER_DIR: fake.dir,
      DEPLOY_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'deploy-state-')),
      DATABASE_URL: '',
      ...env,
    },
  });
  return { code: res.status, out: res.stdout + res.stderr };
}

/** The deploy subcommands share a state dir; one per scenario. */
function scenario() {
  const fake = fakeWrangler();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'deploy-state-'));
  return { fake, run: (args: string[], env: Record<string, string> = {}) => deploy(args, fake, { DEPLOY_STATE_DIR: stateDir, ...env }) };
}

describe('deploy:canary / promote / rollback', () => {
  it('uploads a version and splits 5 / 95, then promotes 25 and 100 with the exact invocations', async () => {
    const { fake, run } = scenario();
    expect(run(['canary', '--percent', '5']).code).toBe(0);
    expect(run(['promote', '--percent', '25']).code).toBe(0);
    expect(run(['promote']).code).toBe(0);
    const calls = fake.calls();
    expect(calls[0]).toEqual(['deployments', 'status', '--json', '--env', 'production']);
    expect(calls[1]!.slice(0, 2)).toEqual(['versions', 'upload']);
    expect(calls[1]).toEqual(expect.arrayContaining(['--env', 'production']));
    expect(calls[2]).toEqual([
      'versions',
      'deploy',
      'v-new-1@5%',
      'v-stable@95%',
      '--yes',
      '--message',
      'canary 5%',
      '--env',
      'production',
    ]);
    // Issue 20: promote reads the live deployment first (status + versions list), then deploys.
    expect(calls.slice(3, 5).map((c) => c.slice(0, 3))).toEqual([
      ['deployments', 'status', '--json'],
      ['versions', 'list', '--json'],
    ]);
    const deploys = calls.filter((c) => c[1] === 'deploy');
    expect(deploys[1]).toEqual([
      'versions',
      'deploy',
      'v-new-1@25%',
      'v-stable@75%',
      '--yes',
      '--message',
      'promote 25%',
      '--env',
      'production',
    ]);
    expect(deploys[2]).toEqual(['versions', 'deploy', 'v-new-1@100%', '--yes', '--message', 'promote 100%', '--env', 'production']);
    expect(fake.deployment()).toEqual([{ version_id: 'v-new-1', percentage: 100 }]);
  });

  it('rolls everything back to the stable version', async () => {
    const { fake, run } = scenario();
    run(['canary', '--percent', '5', '--env', 'staging']);
    const res = run(['rollback', '--env', 'staging']);
    expect(res.code).toBe(0);
    expect(fake.calls().at(-1)).toEqual([
      'versions',
      'deploy',
      'v-stable@100%',
      '--yes',
      '--message',
      'rollback: manual rollback',
      '--env',
      'staging',
    ]);
    expect(fake.deployment()).toEqual([{ version_id: 'v-stable', percentage: 100 }]);
  });

  it('refuses to start a canary while a split is active', async () => {
    const fake = fakeWrangler([
      { version_id: 'a', percentage: 90 },
      { version_id: 'b', percentage: 10 },
    ]);
    const res = deploy(['canary'], fake);
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/split deployment is already active/);
    expect(fake.calls().map((c) => c[1])).toEqual(['status']);
  });

  it('--dry-run prints the invocations and runs no wrangler; without a database there is no evidence, so it rolls back', async () => {
    // Issue 20 (deliberate change): this dry run used to go 5 → 25 → 100 % and exit 0 on no data.
    const fake = fakeWrangler();
    const res = deploy(['auto', '--dry-run'], fake);
    expect(res.code).toBe(1);
    expect(res.out).toContain("[dry-run] wrangler versions deploy '<new-version-id>@5%' '<current-version-id>@95%'");
    expect(res.out).toMatch(/FAIL {2}evidence: no database/);
    expect(res.out).toContain("[dry-run] wrangler versions deploy '<current-version-id>@100%'");
    expect(res.out).not.toContain("'<new-version-id>@100%'");
    expect(res.out).not.toContain('canary completed');
    expect(fake.calls()).toEqual([]);
  });
});

describe('state from Cloudflare (the live deployment, never a local file)', () => {
  // Every command runs with its own empty DEPLOY_STATE_DIR: another operator's machine.
  const other = (fake: ReturnType<typeof fakeWrangler>, args: string[]) => deploy(args, fake);

  it('no canary in progress: status says so, promote and rollback refuse and deploy nothing', async () => {
    const fake = fakeWrangler();
    expect(other(fake, ['status']).out).toMatch(/no canary in progress for production: v-stable at 100%/);
    const rb = other(fake, ['rollback', '--dry-run']);
    expect(rb.code).toBe(1);
    expect(rb.out).toMatch(/no canary in progress .*nothing to promote or roll back/);
    expect(rb.out).not.toContain('undefined');
    expect(other(fake, ['promote']).code).toBe(1);
    expect(fake.calls().filter((c) => c[1] === 'deploy')).toEqual([]);
  });

  it('canary at 5 %: another machine sees it, and its rollback names the stable version', async () => {
    const fake = fakeWrangler();
    expect(other(fake, ['canary', '--percent', '5']).code).toBe(0);
    expect(other(fake, ['status']).out).toMatch(/canary v-new-1 at 5% \(stable v-stable at 95%\) for production/);
    const dry = other(fake, ['rollback', '--dry-run']);
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain('[dry-run] wrangler versions deploy v-stable@100% --yes');
    expect(fake.deployment()).toEqual([
      { version_id: 'v-new-1', percentage: 5 },
      { version_id: 'v-stable', percentage: 95 },
    ]);
  });

  it('after a promote to 100 %: no canary; rollback refuses unless told a version with --to', async () => {
    const fake = fakeWrangler();
    other(fake, ['canary', '--percent', '5']);
    expect(other(fake, ['promote']).code).toBe(0);
    expect(other(fake, ['status']).out).toMatch(/no canary in progress for production: v-new-1 at 100%/);
    const refused = other(fake, ['rollback']);
    expect(refused.code).toBe(1);
    expect(refused.out).not.toContain('undefined');
    expect(other(fake, ['rollback', '--to', 'v-stable', '--message', 'bad release']).code).toBe(0);
    expect(fake.deployment()).toEqual([{ version_id: 'v-stable', percentage: 100 }]);
  });

  it('after a rollback: the stable version alone, and a canary at 60 % (the bigger share) is still told apart by age', async () => {
    const fake = fakeWrangler();
    other(fake, ['canary', '--percent', '5']);
    expect(other(fake, ['rollback']).code).toBe(0);
    expect(other(fake, ['status']).out).toMatch(/no canary in progress for production: v-stable at 100%/);
    other(fake, ['canary', '--percent', '5']);
    other(fake, ['promote', '--percent', '60']);
    expect(other(fake, ['status']).out).toMatch(/canary v-new-2 at 60% \(stable v-stable at 40%\)/);
    expect(other(fake, ['rollback']).code).toBe(0);
    expect(fake.deployment()).toEqual([{ version_id: 'v-stable', percentage: 100 }]);
  });
});

describe('deploy:auto with the canary gate', () => {
  it('steps 5 → 25 → 100 while the gate says go', async () => {
    const fresh = await freshDatabase();
    dbs.push(fresh);
    // Issue 20: GO needs evidence — 600 canary requests as healthy as the stable version's.
    const db = await connect(fresh.url);
    await db.query(`INSERT INTO public.request_metrics_minute (operation, minute, requests, errors, latency_sum_ms, buckets) VALUES
      ('version:v-stable', date_trunc('minute', now()), 9400, 0, 0, array_fill(0::bigint, ARRAY[20]) || ARRAY[8930::bigint, 470::bigint]),
      ('version:v-new-1', date_trunc('minute', now()), 600, 0, 0, array_fill(0::bigint, ARRAY[20]) || ARRAY[570::bigint, 30::bigint])`);
    await db.end();
    const { fake, run } = scenario();
    const res = run(['auto', '--wait', '1s', '--interval', '1s', '--min-observation', '1s'], { DATABASE_URL: fresh.url });
    expect(res.code, res.out).toBe(0);
    const deploys = fake
      .calls()
      .filter((c) => c[1] === 'deploy')
      .map((c) => c.filter((a) => a.includes('@')));
    expect(deploys).toEqual([['v-new-1@5%', 'v-stable@95%'], ['v-new-1@25%', 'v-stable@75%'], ['v-new-1@100%']]);
  });

  it('a regression confined to the canary rolls back although the global numbers look healthy', async () => {
    const fresh = await freshDatabase();
    dbs.push(fresh);
    // Stable serves 9,500 healthy requests; the canary (v-new-1) 500, of which 5 % fail and all slow.
    // Over all routes that is 0.25 % errors: under the guide's 1 %, so only the per-version check sees it.
    const db = await connect(fresh.url);
    await db.query(`INSERT INTO public.request_metrics_minute (operation, minute, requests, errors, latency_sum_ms, buckets) VALUES
      ('POST /v1/rank', date_trunc('minute', now()), 10000, 25, 0, '{}'),
      ('version:v-stable', date_trunc('minute', now()), 9500, 0, 0, array_fill(0::bigint, ARRAY[20]) || ARRAY[9500::bigint]),
      ('version:v-new-1', date_trunc('minute', now()), 500, 25, 0, array_fill(0::bigint, ARRAY[28]) || ARRAY[500::bigint])`);
    const { fake, run } = scenario();
    const res = run(['auto', '--wait', '1s', '--interval', '1s', '--min-observation', '1s'], { DATABASE_URL: fresh.url });
    expect(res.code, res.out).toBe(1);
    expect(res.out).toMatch(/PASS {2}5xx rate: 0\.25%/);
    // Issue 20: the checks compare with the stable version (names and details changed deliberately).
    expect(res.out).toMatch(/FAIL {2}canary 5xx vs stable: NO-GO: canary 5\.00% of 500 vs stable 0\.00% of 9500: worse than stable/);
    expect(res.out).toMatch(/FAIL {2}canary latency vs stable .*NO-GO: canary 100\.00% of 500 vs stable 0\.00% of 9500/);
    expect(
      fake
        .calls()
        .filter((c) => c[1] === 'deploy')
        .at(-1)!
        .slice(2, 3),
    ).toEqual(['v-stable@100%']);
    await db.end();
  });

  it('an SLO breach during the 5% step produces the rollback invocation, and a ledger row', async () => {
    const fresh = await freshDatabase();
    dbs.push(fresh);
    // Injected breach: 10% of auth.login requests failing in the current minute.
    const db = await connect(fresh.url);
    await db.query(`INSERT INTO public.request_metrics_minute (operation, minute, requests, errors, buckets)
                    VALUES ('auth.login', date_trunc('minute', now()), 1000, 100, '{0,0,1000}')`);
    const { fake, run } = scenario();
    const res = run(['auto', '--wait', '1s', '--interval', '1s', '--min-observation', '1s'], { DATABASE_URL: fresh.url });
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/NO-GO/);
    const deploys = fake.calls().filter((c) => c[1] === 'deploy');
    expect(deploys).toHaveLength(2);
    expect(deploys[1]!.slice(0, 4)).toEqual(['versions', 'deploy', 'v-stable@100%', '--yes']);
    expect(deploys[1]!.join(' ')).toMatch(/rollback: canary gate no-go at 5%/);
    expect(fake.deployment()).toEqual([{ version_id: 'v-stable', percentage: 100 }]);
    const { rows } = await db.query(`SELECT action, reason FROM public.ai_action_ledger WHERE actor = 'cli:deploy' ORDER BY id`);
    expect(rows.map((r) => r.action)).toEqual(['deploy.canary', 'deploy.rollback']);
    expect(rows[1].reason).toMatch(/5xx rate|burn rate/);
    await db.end();
  });

  it('a canary that served nothing is NO-GO at the end of its step, and is rolled back', async () => {
    const fresh = await freshDatabase();
    dbs.push(fresh);
    const { fake, run } = scenario();
    const res = run(['auto', '--wait', '2s', '--interval', '1s', '--min-observation', '1s'], { DATABASE_URL: fresh.url });
    expect(res.code, res.out).toBe(1);
    expect(res.out).toMatch(/WAIT \(not enough evidence yet/); // the first look: keep watching
    expect(res.out).toMatch(/FAIL {2}canary 5xx vs stable: NO-GO: .*not enough evidence \(0 of 500 canary requests\)/);
    expect(res.out).not.toContain('canary completed');
    expect(fake.deployment()).toEqual([{ version_id: 'v-stable', percentage: 100 }]);
  });

  it('a gate error (database unreachable) rolls back to stable and says so', async () => {
    const { fake, run } = scenario();
    const res = run(['auto', '--wait', '1s', '--interval', '1s', '--min-observation', '1s'], {
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:9/postgres',
    });
    expect(res.code, res.out).toBe(1);
    expect(res.out).toMatch(/rolled back to v-stable \(canary gate error at 5%: .*\)/);
    const deploys = fake.calls().filter((c) => c[1] === 'deploy');
    expect(deploys.map((c) => c[2])).toEqual(['v-new-1@5%', 'v-stable@100%']);
    expect(fake.deployment()).toEqual([{ version_id: 'v-stable', percentage: 100 }]);
  });

  it('npm run canary:check on a canary that never served anything: NO-GO (was GO with "need 0")', async () => {
    const fresh = await freshDatabase();
    dbs.push(fresh);
    const res = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/canary-check.ts', '--canary', 'never-served-anything', '--stable', 'v-stable'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: fresh.url },
      },
    );
    expect(res.status, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/not enough evidence \(0 of 500 canary requests\)/);
    expect(res.stdout.trim().split('\n').at(-1)).toBe('NO-GO');
  });
});
