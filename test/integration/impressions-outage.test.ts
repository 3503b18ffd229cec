// Postgres unreachable for 30 s while ranking goes on loses no decision: on the real local stack
// (`npm run dev` on free ports with its own data dir), rank for a few seconds, stop the stack's
// Postgres (SIGSTOP to the postmaster and its backends: connections hang, as with a network
// partition), keep ranking for 30 s, resume it, and wait until the EVENTS consumer has written
// everything: every decision served is in learning_events exactly once (one row per slate item),
// and nothing of it went to the dead-letter queue.
import { execSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/pg-child';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUTAGE_MS = 30_000;
const SECRET = new TextEncoder().encode('dev-jwt-secret'); // .dev.vars.example, what `npm run dev` uses

const token = (sub: string) =>
  new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(SECRET);

/** The postmaster (first line of postmaster.pid) and its children: the whole server. */
function postgresPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execSync(`ps -o pid= --ppid ${postmaster}`, { encoding: 'utf8' })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => p > 0);
  return [postmaster, ...children];
}

interface Served {
  decision: string;
  items: number;
}

describe('impressions survive a Postgres outage', () => {
  it('30 s of SIGSTOPped Postgres while ranking: every served decision lands in learning_events exactly once', async () => {
    const [port, pgPort, proxyPort, inspectorPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'outage-stack-'));
    chmodSync(dataDir, 0o755); // Postgres runs as its own OS user and must reach the data dir inside
    const pgData = path.join(dataDir, 'pg');
    const base = `http://127.0.0.1:${port}`;
    const child = spawn('npm', ['run', 'dev'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        PG_PORT: String(pgPort),
        NEON_WS_PROXY_PORT: String(proxyPort),
        // Not wrangler's default 9229: dev-stack.test.ts may run its stack at the same time.
        INSPECTOR_PORT: String(inspectorPort),
        PG_DATA_DIR: pgData,
        DATABASE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let stopped: number[] = [];
    const db = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres` });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line within 120 s:\n${output}`)), 120_000);
        child.stdout.on('data', () => {
          if (!output.includes(`ready ${base}`)) return;
          clearTimeout(timer);
          resolve();
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`dev exited ${code}:\n${output}`));
        });
      });
      // The per-minute cron copies the flags to KV: ranking then never needs Postgres.
      await (await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}`)).text();
      await db.connect();

      const surface = `outage-${crypto.randomUUID().slice(0, 8)}`;
      const served: Served[] = [];
      const failures: string[] = [];
      const candidates = Array.from({ length: 8 }, (_, k) => ({ id: `o${k}`, score: k / 8 }));
      let ranking = true;
      const ranker = async () => {
        while (ranking) {
          const user = crypto.randomUUID();
          try {
            const res = await fetch(`${base}/v1/rank`, {
              method: 'POST',
              headers: { authorization: `Bearer ${await token(user)}`, 'content-type': 'application/json' },
              body: JSON.stringify({ surface, limit: 4, candidates }),
            });
            const body = (await res.json()) as { decision_id?: string; logged?: boolean; slate?: unknown[] };
            if (res.status !== 200 || !body.logged) failures.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
            else served.push({ decision: body.decision_id!, items: body.slate!.length });
          } catch (err) {
            failures.push(String(err));
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const rankers = [ranker(), ranker()];

      await new Promise((r) => setTimeout(r, 4_000));
      const beforeOutage = served.length;
      stopped = postgresPids(pgData);
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const duringOutage = served.length - beforeOutage;
      for (const pid of [...stopped].reverse()) process.kill(pid, 'SIGCONT');
      stopped = [];
      ranking = false;
      await Promise.all(rankers);

      // Ranking never waited for Postgres: it went on through the outage, every request answered.
      expect(failures).toEqual([]);
      expect(beforeOutage).toBeGreaterThan(5);
      expect(duringOutage).toBeGreaterThan(30);

      const ids = served.map((s) => s.decision);
      const expected = served.reduce((n, s) => n + s.items, 0);
      const resumedAt = Date.now();
      const deadline = resumedAt + 90_000;
      let rows: { decision_id: string; n: string; positions: string }[] = [];
      for (;;) {
        rows = (
          await db.query<{ decision_id: string; n: string; positions: string }>(
            `SELECT decision_id, count(*) AS n, count(DISTINCT position) AS positions
             FROM public.learning_events WHERE surface = $1 GROUP BY decision_id`,
            [surface],
          )
        ).rows;
        if (rows.reduce((n, r) => n + Number(r.n), 0) >= expected || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      console.log(
        JSON.stringify({
          served: served.length,
          before_outage: beforeOutage,
          during_outage: duringOutage,
          rows: expected,
          drained_ms: Date.now() - resumedAt,
        }),
      );
      const landed = new Map(rows.map((r) => [r.decision_id, { n: Number(r.n), positions: Number(r.positions) }]));
      const missing = served.filter((s) => !landed.has(s.decision));
      expect(missing, `${missing.length} of ${served.length} decisions never landed`).toEqual([]);
      expect([...landed.keys()].sort()).toEqual([...ids].sort()); // nothing that was not served
      for (const s of served) expect(landed.get(s.decision)).toEqual({ n: s.items, positions: s.items });
      const dead = await db.query(`SELECT count(*)::int AS n FROM public.vw_dead_letter_queue WHERE topic LIKE 'learning.%'`);
      expect(dead.rows[0].n).toBe(0);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      await db.end().catch(() => {});
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
