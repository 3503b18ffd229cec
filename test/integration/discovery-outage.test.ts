// A database outage does not dead-letter healthy discovery work: on the real local stack (`npm run
// dev` on free ports, its own data dir), queue a few hundred discovery jobs, let the relay hand
// them to the DISCOVERY queue, and once the consumer has finished some of them freeze Postgres
// (SIGSTOP to the postmaster and its backends: new connections time out, open ones hang, as in a
// network partition) for 3 minutes — longer than the old 5/10/20/40/80 s retries, which
// dead-lettered every in-flight job after ~2.6 minutes. Then resume it: every job ends done, none
// in the dead-letter queue, and the consumer did see the outage (discovery.db_unreachable).
import { execSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/pg-child';
import { startDevStack } from '../support/dev-stack';

const OUTAGE_MS = 180_000;
const USERS = 150; // × 3 interests = 450 jobs: a handful of batches of 100, so the freeze lands mid-drain

/** The postmaster (first line of postmaster.pid) and its children: the whole server. */
function postgresPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execSync(`ps -o pid= --ppid ${postmaster}`, { encoding: 'utf8' })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => p > 0);
  return [postmaster, ...children];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('discovery survives a Postgres outage', () => {
  it('3 min of SIGSTOPped Postgres mid-drain: every job done afterwards, none dead-lettered', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'discovery-outage-'));
    chmodSync(dataDir, 0o755); // Postgres runs as its own OS user and must reach the data dir inside
    const pgData = path.join(dataDir, 'pg');
    const stack = await startDevStack({ env: { PG_DATA_DIR: pgData, INSPECTOR_PORT: String(await freePort()) } });
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    let stopped: number[] = [];
    try {
      await db.connect();
      const tag = `outage-${crypto.randomUUID().slice(0, 8)}`;
      await db.query(
        `WITH u AS (
           INSERT INTO auth.users (id, email)
           SELECT gen_random_uuid(), $1 || '-' || g || '@example.invalid' FROM generate_series(1, $2::int) g
           RETURNING id)
         INSERT INTO public.user_interests (user_id, interest_id, affinity)
         SELECT u.id, i.id, 0.5 FROM u CROSS JOIN (SELECT id FROM public.interest_catalog ORDER BY id LIMIT 3) i`,
        [tag, USERS],
      );
      const users = `SELECT id FROM auth.users WHERE email LIKE '${tag}-%'`;
      await db.query(`SELECT public.enqueue_discovery_for_user(id) FROM (${users}) u`);
      const progress = async () =>
        (
          await db.query<{ done: number; n: number }>(
            `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*)::int AS n
             FROM public.marketplace_discovery_queue WHERE user_id IN (${users})`,
          )
        ).rows[0]!;
      expect((await progress()).n).toBe(USERS * 3);

      // The per-minute cron relays the outbox to the DISCOVERY queue; freeze at the first done job.
      const cron = fetch(`${stack.base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}`).then((r) => r.text());
      let atFreeze = await progress();
      const waitUntil = Date.now() + 60_000;
      while (atFreeze.done === 0 && Date.now() < waitUntil) {
        await sleep(25);
        atFreeze = await progress();
      }
      stopped = postgresPids(pgData);
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      expect(atFreeze.done, 'the drain started before the freeze').toBeGreaterThan(0);
      expect(atFreeze.done, 'the freeze landed mid-drain').toBeLessThan(atFreeze.n);
      await sleep(OUTAGE_MS);
      for (const pid of [...stopped].reverse()) process.kill(pid, 'SIGCONT');
      stopped = [];
      await cron;

      const resumedAt = Date.now();
      let now = await progress();
      while (now.done < now.n && Date.now() < resumedAt + 600_000) {
        await sleep(2_000);
        now = await progress();
      }
      const dead = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM public.vw_dead_letter_queue WHERE topic LIKE 'discovery.%'`,
      );
      const errored = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM public.marketplace_discovery_queue WHERE status = 'error' AND user_id IN (${users})`,
      );
      const outageRetries = stack
        .output()
        .split('\n')
        .filter((l) => l.includes('"discovery.db_unreachable"')).length;
      console.log(
        JSON.stringify({
          jobs: now.n,
          done_at_freeze: atFreeze.done,
          done: now.done,
          drained_s: (Date.now() - resumedAt) / 1000,
          outageRetries,
        }),
      );
      expect(outageRetries, 'the consumer met the outage').toBeGreaterThan(0);
      expect(now.done).toBe(now.n);
      expect(errored.rows[0]!.n).toBe(0);
      expect(dead.rows[0]!.n).toBe(0);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      await db.end().catch(() => {});
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 1_000_000);
});
