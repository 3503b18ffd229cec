// Canary deploys with Workers gradual deployments (guide §5).
//   npm run deploy:canary  -- --percent 5        upload a version; split new@5% / stable@95%
//   npm run deploy:promote -- [--percent 25]      move the canary to N% (default 100)
//   npm run deploy:rollback                       everything back to the stable version
//   npm run deploy:auto    -- [--steps 5,25,100] [--wait 1h] [--interval 1m] [--min-observation 30m]
//                                                 step up with the canary gate between steps: every
//                                                 look may roll back on evidence of harm; a step is
//                                                 promoted only at its end, with enough evidence that
//                                                 the canary is no worse than stable (docs/RUNBOOK.md
//                                                 "Release: canary gate"); no data, a gate error or a
//                                                 failed promote rolls back (--min-canary-requests N,
//                                                 default 500: canary requests a step needs)
// Common flags: --env <name> (default production), --dry-run (print the wrangler invocations),
// --database-url (gate + ledger; default $DATABASE_URL), --message.
// Users keep one version during a split when clients send Cloudflare-Workers-Version-Key: <user id>.
// Before any change it prints its target (the wrangler environment and the gate/ledger database);
// an explicit --env staging|production refuses a local database.
import { execSync } from 'node:child_process';
import pg from 'pg';
import { evaluateGate, formatGate, type GateResult } from './lib/canary-gate';
import { DEFAULT_POLICY } from './lib/canary-stats';
import { parseCli, usageError } from './lib/cli';
import { parseDuration } from './lib/duration';
import { fail, ROOT } from './lib/env';
import { describeLive, readLiveDeployment } from './lib/live-deployment';
import { announceDatabase } from './lib/target';
import { runWrangler } from './lib/wrangler-cli';

const USAGE = `usage:
  npm run deploy:canary   -- [--percent 5] [--message "…"]        upload a version; split canary N% / stable
  npm run deploy:promote  -- [--percent 100]                     move the canary to N% (100: done)
  npm run deploy:rollback -- [--to <version id>] [--message "why"]  all traffic back to the stable (or named) version
  npm run deploy:auto     -- [--steps 5,25,100] [--wait 1h] [--interval 1m] [--min-canary-requests 500]
                             [--min-observation 30m]             step up with the canary gate; any no-go or error rolls back
  npm run deploy:status                                          the live deployment (wrangler deployments status)
common: --env production|staging (default production; the wrangler environment), --dry-run (print the
  wrangler invocations, change nothing), --database-url <postgres url> (gate + ledger; default DATABASE_URL;
  an explicit --env staging|production refuses a local one).
Not the emergency brake: that is npm run ops:halt (safe mode + paused jobs), see docs/ONCALL.md.`;

const { values, positionals } = parseCli(
  {
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      percent: { type: 'string' },
      steps: { type: 'string', default: '5,25,100' },
      wait: { type: 'string', default: '1h' },
      interval: { type: 'string', default: '1m' },
      'dry-run': { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      message: { type: 'string' },
      'min-canary-requests': { type: 'string', default: String(DEFAULT_POLICY.minRequests) },
      'min-observation': { type: 'string', default: '30m' },
      to: { type: 'string' },
    },
  },
  USAGE,
);
const command = positionals[0];
const dryRun = values['dry-run']!;
const envName = values.env ?? 'production';
const databaseUrl = values['database-url'] || process.env.DATABASE_URL || undefined;
const envArgs = ['--env', envName];

/** Say what this run changes before it changes anything (and refuse a local database for an explicit --env). */
function announceTarget(): void {
  process.stderr.write(`target: Worker (wrangler --env ${envName})${dryRun ? ' — dry run, nothing changes' : ''}\n`);
  if (databaseUrl) announceDatabase(databaseUrl, values.env, 'gate/ledger database');
}

interface DeployState {
  env: string;
  stable: string;
  canary: string;
  percent: number;
  updatedAt: string;
}

/**
 * The canary in progress, from the live deployment (never a local file): refuses when there is
 * none, so promote and rollback always name concrete versions.
 */
function liveState(): DeployState {
  const live = readLiveDeployment(envArgs);
  if (!live.split)
    fail(`${describeLive(live, envName)}; nothing to promote or roll back (deploy:rollback -- --to <version id> deploys a named version)`);
  return { env: envName, ...live.split, updatedAt: new Date().toISOString() };
}

function percentArg(text: string | undefined, fallback: number): number {
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100) fail(`--percent must be an integer from 1 to 100 (got ${text})`);
  return n;
}

/** Record the deploy action in ai_action_ledger when a database is reachable (best effort). */
async function ledger(action: string, detail: Record<string, unknown>, reason?: string): Promise<void> {
  if (!databaseUrl || dryRun) return;
  const db = new pg.Client({ connectionString: databaseUrl });
  try {
    await db.connect();
    await db.query(
      `INSERT INTO public.ai_action_ledger (actor, action, target, new_value, reason) VALUES ('cli:deploy', $1, $2, $3::jsonb, $4)`,
      [action, envName, JSON.stringify(detail), reason ?? null],
    );
  } catch (err) {
    console.warn(`warning: could not write the ledger: ${(err as Error).message}`);
  } finally {
    await db.end().catch(() => {});
  }
}

function currentStableVersion(): string {
  if (dryRun) {
    runWrangler(['deployments', 'status', '--json', ...envArgs], { dryRun });
    return '<current-version-id>';
  }
  const { stdout } = runWrangler(['deployments', 'status', '--json', ...envArgs]);
  const deployment = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { versions: { version_id: string; percentage: number }[] };
  const versions = [...deployment.versions].sort((a, b) => b.percentage - a.percentage);
  if (versions.length !== 1 || versions[0]!.percentage !== 100) {
    fail(
      `a split deployment is already active (${versions.map((v) => `${v.version_id}@${v.percentage}%`).join(', ')}); promote or roll it back first`,
    );
  }
  return versions[0]!.version_id;
}

function gitTag(): string | undefined {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function split(canary: string, stable: string, percent: number, message: string): void {
  const specs = percent >= 100 ? [`${canary}@100%`] : [`${canary}@${percent}%`, `${stable}@${100 - percent}%`];
  runWrangler(['versions', 'deploy', ...specs, '--yes', '--message', message, ...envArgs], { dryRun });
}

async function canary(percent: number): Promise<DeployState> {
  const stable = currentStableVersion();
  const tag = gitTag();
  const upload = runWrangler(
    ['versions', 'upload', ...(tag ? ['--tag', tag] : []), '--message', values.message ?? `canary ${tag ?? ''}`.trim(), ...envArgs],
    { dryRun },
  );
  const canaryId = dryRun ? '<new-version-id>' : String(upload.outputs.find((o) => o.type === 'version-upload')?.version_id ?? '');
  if (!canaryId) fail('wrangler versions upload reported no version id');
  split(canaryId, stable, percent, `canary ${percent}%`);
  const state = { env: envName, stable, canary: canaryId, percent };
  await ledger('deploy.canary', state);
  console.log(`canary ${canaryId} at ${percent}% (stable ${stable} at ${100 - percent}%)`);
  return { ...state, updatedAt: new Date().toISOString() };
}

async function promote(state: DeployState, percent: number): Promise<DeployState> {
  split(state.canary, state.stable, percent, `promote ${percent}%`);
  await ledger('deploy.promote', { ...state, percent });
  console.log(percent >= 100 ? `promoted ${state.canary} to 100%` : `canary ${state.canary} at ${percent}%`);
  return { ...state, percent, updatedAt: new Date().toISOString() };
}

async function rollback(state: Pick<DeployState, 'stable'> & Partial<DeployState>, reason: string): Promise<void> {
  if (!/^[\w<>-]+$/.test(state.stable)) fail(`refusing to roll back to "${state.stable}": not a version id`);
  runWrangler(['versions', 'deploy', `${state.stable}@100%`, '--yes', '--message', `rollback: ${reason}`, ...envArgs], { dryRun });
  await ledger('deploy.rollback', { ...state }, reason);
  console.log(`rolled back to ${state.stable} (${reason})`);
}

async function gate(state: DeployState, look: { last: boolean; since: Date; maxLooks: number }): Promise<GateResult> {
  if (!databaseUrl) {
    // A dry run without a database has no evidence, and no evidence is never GO.
    const detail = 'no database (--database-url / DATABASE_URL): no evidence';
    return { go: false, verdict: 'no-go', checks: [{ name: 'evidence', ok: false, detail }] };
  }
  return evaluateGate(databaseUrl, {
    canary: state.canary,
    stable: state.stable,
    minCanaryRequests: Number(values['min-canary-requests']),
    policy: { maxLooks: look.maxLooks },
    last: look.last,
    since: look.since,
  });
}

/** Roll back, and if even that fails say loudly what to run: a split must never be left unwatched. */
async function rollbackOrShout(state: DeployState, reason: string): Promise<never> {
  try {
    await rollback(state, reason);
  } catch (err) {
    console.error(`ROLLBACK FAILED (${(err as Error).message}): the split ${state.canary}@${state.percent}% is still live.`);
    console.error(`Run now: npx wrangler versions deploy ${state.stable}@100% --yes --env ${envName}`);
    process.exit(2);
  }
  process.exit(1);
}

async function auto(): Promise<void> {
  const steps = values.steps!.split(',').map((s) => percentArg(s, 0));
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!) || steps.at(-1) !== 100) {
    fail('--steps must increase and end at 100, e.g. 5,25,100');
  }
  if (!databaseUrl && !dryRun) fail('deploy:auto needs the gate: pass --database-url or set DATABASE_URL');
  const waitMs = parseDuration(values.wait!);
  const intervalMs = Math.min(parseDuration(values.interval!), waitMs);
  const minObservationMs = parseDuration(values['min-observation']!);
  if (waitMs < minObservationMs) fail(`--wait (${values.wait}) is shorter than --min-observation (${values['min-observation']})`);
  const looksPerStep = Math.max(1, Math.ceil(waitMs / intervalMs));
  const maxLooks = looksPerStep * steps.filter((s) => s < 100).length;
  let state = await canary(steps[0]!);
  for (let i = 0; i < steps.length; i++) {
    if (steps[i] === 100) break;
    const since = new Date();
    const until = Date.now() + waitMs;
    let result: GateResult;
    let last = false;
    do {
      if (!dryRun) await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, until - Date.now()))));
      last = dryRun || Date.now() >= until;
      try {
        result = await gate(state, { last, since, maxLooks });
      } catch (err) {
        // Any error in the gate rolls back: nothing may watch a split that nobody judges.
        return rollbackOrShout(state, `canary gate error at ${steps[i]}%: ${(err as Error).message}`);
      }
      console.log(`gate at ${steps[i]}%${last ? ' (last look)' : ''}:\n${formatGate(result)}`);
      if (result.verdict === 'no-go') {
        const reasons = result.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name}: ${c.detail}`)
          .join('; ');
        return rollbackOrShout(state, `canary gate no-go at ${steps[i]}%: ${reasons}`);
      }
    } while (!last);
    if (!dryRun) {
      // The live deployment, not our memory of it: another operator may have acted meanwhile.
      const live = liveState();
      if (live.canary !== state.canary || live.stable !== state.stable) {
        fail(
          `the live deployment changed under deploy:auto (${describeLive(readLiveDeployment(envArgs), envName)}); stopping without touching it`,
        );
      }
    }
    try {
      state = await promote(state, steps[i + 1]!);
    } catch (err) {
      return rollbackOrShout(state, `promote to ${steps[i + 1]}% failed: ${(err as Error).message}`);
    }
  }
  console.log('canary completed: 100%');
}

async function main(): Promise<void> {
  if (!command || !['canary', 'promote', 'rollback', 'auto', 'status'].includes(command))
    usageError(command ? `unknown command: ${command}` : 'a command is required', USAGE);
  if (command !== 'status') announceTarget();
  switch (command) {
    case 'canary':
      await canary(percentArg(values.percent, 5));
      break;
    case 'promote':
      await promote(liveState(), percentArg(values.percent, 100));
      break;
    case 'rollback':
      await rollback(values.to ? { stable: values.to } : liveState(), values.message ?? 'manual rollback');
      break;
    case 'auto':
      await auto();
      break;
    case 'status':
      console.log(describeLive(readLiveDeployment(envArgs), envName));
      break;
  }
}

main().catch((err) => fail((err as Error).message));
