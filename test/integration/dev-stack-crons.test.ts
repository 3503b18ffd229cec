// `npm run dev` runs the Cron Triggers of wrangler.toml on their schedule (issue 13), so the guide
// works locally as it does in production: an operator's SQL reaches the edge by the per-minute
// flag sync, and the */5 rollup folds what it must — without anyone calling /__scheduled.
//
// One stack; the test leaves a reward the way a race between the reward and impression consumers
// leaves it (parked in learning_rewards, its impression already stored: only the */5 rollup's
// sweep brings it into vw_policy_health), and does the guide's §3 safe-mode UPDATE once the first
// flag sync has filled KV — right after a sync, the worst moment. Then it only watches: /health
// must say safe_mode true within 65 s of the UPDATE (up to one cron minute, plus the sync itself:
// the sync drops the flag cache of its isolate, and wrangler dev runs one), the view must count
// the reward within 65 s of parking it.
//
// The */5 cron fires every minute here through DEV_CRON_TEST_EVERY_MINUTE (test only; unset, the
// schedule of wrangler.toml is what runs, and scripts/lib/cron.ts's */5 minutes are unit-tested in
// test/unit/cron.test.ts): waiting for a real */5 boundary would cost up to 5 minutes per run.
// A second stack with --no-cron, started beside it on the same database, must fire nothing.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type DevStack, leftoverProcesses, startDevStack } from '../support/dev-stack';

const FLIP_BOUND_MS = 65_000;
const SAFE_MODE_ON = `UPDATE public.feature_flags
SET value = '{"enabled": true}'::jsonb, updated_at = now()
WHERE key = 'global.safe_mode';`;
const USER = '00000000-0000-0000-0000-000000000001';

const stacks: DevStack[] = [];
const starting: Promise<unknown>[] = [];
afterAll(async () => {
  await Promise.allSettled(starting); // a stack still starting when the test failed is stopped too
  await Promise.all(stacks.map((s) => s.stop()));
});

async function health(base: string): Promise<{ safe_mode: boolean | null }> {
  return (await fetch(`${base}/health`)).json() as Promise<{ safe_mode: boolean | null }>;
}

/** Poll until `fn` gives a value; the time it was first seen. */
async function firstSeen<T>(what: string, deadline: number, fn: () => Promise<T | undefined>): Promise<{ value: T; at: number }> {
  for (;;) {
    const value = await fn();
    if (value !== undefined) return { value, at: Date.now() };
    if (Date.now() > deadline) throw new Error(`not seen in time: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm run dev fires the Cron Triggers of wrangler.toml', () => {
  it('the guide’s safe-mode SQL reaches /health and the */5 rollup counts a parked reward, with nothing else called', async () => {
    const stack = await startDevStack({ env: { DEV_CRON_TEST_EVERY_MINUTE: '*/5 * * * *' } });
    stacks.push(stack);
    expect(stack.output()).toContain(
      `ready ${stack.base} · crons on (* * * * *, */5 * * * *, 0 2 * * *, 0 3 * * *; UTC) [TEST ONLY: every minute: */5 * * * *]`,
    );
    // The same database, crons off: it must not fire anything while the first one does. It starts
    // while the first one waits for its first minute.
    const quietStarting = startDevStack({ args: ['--no-cron'], env: { DATABASE_URL: stack.databaseUrl } }).then((s) => {
      stacks.push(s);
      return s;
    });
    starting.push(quietStarting);

    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const iso = (t: number) => new Date(t).toISOString();
    try {
      // A reward that raced its impression: the impression row is stored, the reward waits.
      const policy = `cron-test-${Date.now()}`;
      const decision = crypto.randomUUID();
      await db.query(
        `INSERT INTO public.learning_events (user_id, surface, candidate_id, policy, p_exp, explored, decision_id, position)
         VALUES ($1, 'feed', 'c1', $2, 0.9, false, $3, 0)`,
        [USER, policy, decision],
      );
      await db.query(`INSERT INTO public.learning_rewards (decision_id, candidate_id, user_id, reward) VALUES ($1, 'c1', $2, 1)`, [
        decision,
        USER,
      ]);
      const parkedAt = Date.now();
      const view = async () =>
        (await db.query('SELECT impressions::int, rewarded::int FROM public.vw_policy_health WHERE policy = $1', [policy])).rows[0];
      expect(await view()).toEqual({ impressions: 1, rewarded: 0 });

      // Until the first flag sync, KV FLAGS is empty and the edge reads flags from Postgres itself;
      // the operator's SQL must reach the edge through the sync, so flip only once KV holds them.
      const firstSync = await firstSeen('the first per-minute run', parkedAt + FLIP_BOUND_MS, async () =>
        /^cron {6}\* \* \* \* \* .* ok \(200\)/m.test(stack.output()) ? true : undefined,
      );
      const quiet = await quietStarting;
      expect(quiet.output()).toMatch(new RegExp(`ready ${quiet.base} · crons off`));
      expect((await health(stack.base)).safe_mode).toBe(false);
      await db.query(SAFE_MODE_ON);
      const updatedAt = Date.now();
      const [edge, rollup] = await Promise.all([
        firstSeen('safe_mode true on /health', updatedAt + FLIP_BOUND_MS, async () =>
          (await health(stack.base)).safe_mode === true ? true : undefined,
        ),
        firstSeen('the reward in vw_policy_health', parkedAt + FLIP_BOUND_MS, async () =>
          (await view())?.rewarded === 1 ? true : undefined,
        ),
      ]);
      console.log(`parked reward ${iso(parkedAt)} → vw_policy_health ${iso(rollup.at)} (+${rollup.at - parkedAt} ms)`);
      console.log(`first flag sync logged ${iso(firstSync.at)}`);
      console.log(`safe-mode UPDATE ${iso(updatedAt)} → /health ${iso(edge.at)} (+${edge.at - updatedAt} ms)`);
      expect(edge.at - updatedAt).toBeLessThanOrEqual(FLIP_BOUND_MS);
      expect(rollup.at - parkedAt).toBeLessThanOrEqual(FLIP_BOUND_MS);
      // The rollup folded it (not some other path): the sweep merged it into the impression.
      const daily = await db.query('SELECT rewarded::int, reward_sum FROM public.learning_policy_daily WHERE policy = $1', [policy]);
      const event = await db.query('SELECT reward FROM public.learning_events WHERE decision_id = $1', [decision]);
      expect({ daily: daily.rows, reward: event.rows[0].reward }).toEqual({ daily: [{ rewarded: 1, reward_sum: 1 }], reward: 1 });
    } finally {
      await db.end();
    }

    // One line per trigger from the scheduler, one per job from the Worker.
    const out = stack.output();
    expect(out).toMatch(/^cron {6}\* \* \* \* \* {4}\d\d:\d\dZ {2}ok \(200\) in \d+ ms$/m);
    expect(out).toMatch(/^cron {6}\*\/5 \* \* \* \* {2}\d\d:\d\dZ {2}ok \(200\) in \d+ ms$/m);
    expect(out).toMatch(/"msg":"job\.done".*"cron":"\* \* \* \* \*","job":"flag-sync"/);
    expect(out).toMatch(/"msg":"job\.done".*"cron":"\*\/5 \* \* \* \*","job":"learning-rollup","merged_rewards":1/);
    expect(out).not.toMatch(/^cron .*(FAILED|skipped)/m);
    // The --no-cron stack saw the same minute boundaries and ran nothing.
    const quiet = await quietStarting;
    expect(quiet.output()).not.toMatch(/^cron |"msg":"job\./m);

    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    expect(await leftoverProcesses([`-p ${stack.pgPort}`, `127.0.0.1:${stack.port}`, `127.0.0.1:${quiet.port}`])).toEqual([]);
  }, 300_000);
});
