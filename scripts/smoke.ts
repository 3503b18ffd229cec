// npm run smoke -- --url <base> [--database-url <pg>] [--service-key <key>] [--skip-safe-mode]
// The guide's 15-minute smoke test (§2 A–H) plus the safe-mode round trip (§3), automated, against
// any deployment. Prints PASS/FAIL per step with its time and, on failure, what failed; exits
// non-zero on any failure; removes the throwaway user and the rows it created.
import pg from 'pg';
import { apiConfig } from './lib/api-client';
import { parseCli } from './lib/cli';
import { databaseUrl } from './lib/env';
import { guideSql } from './lib/guide';
import { GUIDE_2A_POLICIES } from './lib/guide-fixes';
import { announceApi, announceDatabase, describeDatabase } from './lib/target';

const USAGE = `usage: npm run smoke -- [--url <base>] [--database-url <postgres url>] [--service-key <key>] [--skip-safe-mode] [--timeout 90] [--env staging|production]
  The guide's §2 smoke test and the §3 safe-mode round trip against a deployment, with a throwaway user.
  Defaults: --url = API_URL or http://127.0.0.1:8787, --database-url = DATABASE_URL (else the local one),
  --service-key = SERVICE_ROLE_KEY. The §3 round trip turns safe mode on for everyone and ends with it
  OFF: in production pass --skip-safe-mode. --env refuses a local API or database.`;

const { values } = parseCli(
  {
    options: {
      url: { type: 'string' },
      'database-url': { type: 'string' },
      'service-key': { type: 'string' },
      'skip-safe-mode': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '90' },
      env: { type: 'string' },
    },
  },
  USAGE,
);
const api = apiConfig({ baseUrl: values.url, serviceKey: values['service-key'] });
const dbUrl = values['database-url'] ?? databaseUrl();
announceApi(api.baseUrl, values.env);
announceDatabase(dbUrl, values.env);
const timeoutMs = Number(values.timeout) * 1000;
const local = /^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(api.baseUrl);

class StepFailure extends Error {
  constructor(
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}
const must = (cond: unknown, message: string, detail?: unknown): void => {
  if (!cond) throw new StepFailure(message, detail);
};

let db: pg.Client;
const testUser = crypto.randomUUID();
const results: { step: string; ok: boolean; ms: number; error?: string; detail?: unknown }[] = [];

async function step(name: string, fn: () => Promise<string | undefined> | Promise<void>): Promise<boolean> {
  const started = performance.now();
  try {
    const note = await fn();
    results.push({ step: name, ok: true, ms: performance.now() - started });
    console.log(`PASS  ${name} (${Math.round(performance.now() - started)} ms)${note ? `  ${note}` : ''}`);
    return true;
  } catch (err) {
    const detail = err instanceof StepFailure ? err.detail : undefined;
    results.push({ step: name, ok: false, ms: performance.now() - started, error: (err as Error).message, detail });
    console.log(`FAIL  ${name} (${Math.round(performance.now() - started)} ms)\n      ${(err as Error).message}`);
    if (detail !== undefined) console.log(`      ${JSON.stringify(detail).slice(0, 2000)}`);
    return false;
  }
}

async function sql(statement: string) {
  try {
    return await db.query(statement);
  } catch (err) {
    throw new StepFailure(`query failed: ${(err as Error).message}`, statement);
  }
}

async function http(method: string, path: string, body?: unknown, auth = true) {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${api.serviceKey}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  }).catch((err) => {
    throw new StepFailure(`${method} ${path}: ${(err as Error).message}`);
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms = timeoutMs): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new StepFailure(`timed out after ${ms / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Locally, wrangler dev --test-scheduled lets us run the per-minute cron now instead of waiting. */
async function kickMinuteCron(): Promise<void> {
  if (local) await fetch(`${api.baseUrl}/__scheduled?cron=${encodeURIComponent('* * * * *')}`).catch(() => {});
}

const vars = { TEST_USER: testUser };

async function main(): Promise<number> {
  console.log(`smoke: ${api.baseUrl} · database ${describeDatabase(dbUrl)} · throwaway user ${testUser}`);
  db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    await step('1C health', async () => {
      const { status, json } = await http('GET', '/functions/v1/health', undefined, false);
      must(status === 200 && json.status === 'ok', `health is ${status}`, json);
      return `db ${json.checks.db.ms} ms, version ${json.version?.id ?? json.version?.app}`;
    });

    await step('2A schema & RLS', async () => {
      // The guide's table query verbatim; its policy query names columns pg_policies does not have
      // (relname, polname), so the corrected one runs (scripts/lib/guide-fixes.ts, RUNBOOK §2).
      const [tables] = guideSql('A. Schema & RLS Verification');
      const t = await sql(tables!);
      must(t.rows.length === 5, `expected 5 critical tables, found ${t.rows.length}`, t.rows);
      const p = await sql(GUIDE_2A_POLICIES);
      const covered = new Set(p.rows.map((r) => r.relname));
      must(covered.size === 5, `policies cover ${covered.size}/5 tables`, [...covered]);
      return `${p.rows.length} policies`;
    });

    await step('2B queue health', async () => {
      const [discovery, dlq, events] = guideSql('B. Queue Health');
      await sql(discovery!);
      const dead = await sql(dlq!);
      must(dead.rows.length === 0, `dead letter queue is not empty (${dead.rows.length}+ rows): review it first`, dead.rows);
      await sql(events!);
    });

    await step('2C learning views', async () => {
      for (const s of guideSql('C. Learning System Alive')) await sql(s);
    });

    await step('2D seed data', async () => {
      const counts = [];
      for (const s of guideSql('D. Seed Data Verification')) counts.push(Number(Object.values((await sql(s)).rows[0])[0]));
      must(
        counts.every((n) => n >= 6),
        `seed counts ${counts.join('/')} (interests/categories/mappings/candidates), expected 6 each`,
      );
      return counts.join('/');
    });

    await step('2E user journey', async () => {
      await sql(`INSERT INTO auth.users (id, email) VALUES ('${testUser}', 'smoke-${testUser}@example.invalid')`);
      for (const s of guideSql('E. Simulate User Journey', vars)) await sql(s);
      const q = await sql(`SELECT count(*)::int AS n FROM public.marketplace_discovery_queue WHERE user_id = '${testUser}'`);
      must(q.rows[0].n === 3, `expected 3 queued discovery jobs for the test user, found ${q.rows[0].n}`);
    });

    await step('2F queue worker (HTTP)', async () => {
      const { status, json } = await http('POST', '/functions/v1/queue-worker', { topic: 'discovery.user-signup', limit: 20, ttl: 120 });
      must(status === 200 && typeof json.processed === 'number' && json.errors === 0, `queue-worker answered ${status}`, json);
      return `processed ${json.processed}, errors ${json.errors}`;
    });

    await step('2G worker effects', async () => {
      const [health, gaps, suggestions] = guideSql('G. Verify Worker Effects', vars);
      await poll("the test user's discovery jobs to be done", async () => {
        await kickMinuteCron();
        const r = await sql(
          `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*)::int AS n FROM public.marketplace_discovery_queue WHERE user_id = '${testUser}'`,
        );
        return r.rows[0].done === r.rows[0].n ? true : undefined;
      });
      const h = await sql(health!);
      must(
        h.rows.some((r) => r.status === 'done'),
        'vw_discovery_queue_health shows no done rows',
        h.rows,
      );
      await sql(gaps!);
      const s = await sql(suggestions!);
      must(s.rows.length >= 3, `expected at least 3 suggestions, got ${s.rows.length}`, s.rows);
      return `${s.rows.length} suggestions`;
    });

    await step('2H learning heartbeat', async () => {
      const [insert, health] = guideSql('H. Learning Heartbeat', vars);
      await sql(insert!);
      const h = await sql(health!);
      const row = h.rows.find((r) => r.policy === 'epsilon_greedy_v1');
      must(row && Object.entries(row).every(([, v]) => v !== null), 'vw_policy_health has no complete epsilon_greedy_v1 row', h.rows);
    });

    // Not in the guide (its worker was the HTTP call of 2F): our production path is the outbox relay
    // (per-minute cron) → DISCOVERY queue → consumer. Re-enqueue the user's interests and wait for
    // that path alone to finish them.
    await step('2I discovery through the queue (relay → consumer)', async () => {
      await sql(`SELECT public.enqueue_discovery_for_user('${testUser}'::uuid)`);
      const jobs = `SELECT status, attempts, last_error, relayed_at IS NOT NULL AS relayed FROM public.marketplace_discovery_queue
                    WHERE user_id = '${testUser}' AND created_at > now() - interval '1 hour' ORDER BY created_at DESC`;
      try {
        await poll('the re-enqueued jobs to be done by the queue consumer', async () => {
          await kickMinuteCron();
          const r = await sql(jobs);
          return r.rows.length > 0 && r.rows.every((j) => j.status === 'done') ? true : undefined;
        });
      } catch (err) {
        const pause = await sql(`SELECT value FROM public.feature_flags WHERE key = 'ops.pause_jobs'`);
        const paused = pause.rows[0]?.value?.enabled === true;
        const why = paused
          ? 'ops.pause_jobs is on (npm run ops:resume resumes)'
          : 'relay cron or DISCOVERY consumer failing: see vw_dead_letter_queue and wrangler tail';
        throw new StepFailure(`${(err as Error).message}; ${why}`, (await sql(jobs)).rows);
      }
    });

    if (!values['skip-safe-mode']) {
      await step('3 safe mode on (SQL) → edge', async () => {
        const [on] = guideSql('3. Abort Switch');
        await sql(on!);
        await poll('GET /health to report safe_mode true', async () => {
          await kickMinuteCron();
          const { json } = await http('GET', '/health', undefined, false);
          return json.safe_mode === true ? true : undefined;
        });
      });
      await step('3 safe mode off (SQL) → edge', async () => {
        const [, off] = guideSql('3. Abort Switch');
        await sql(off!);
        await poll('GET /health to report safe_mode false', async () => {
          await kickMinuteCron();
          const { json } = await http('GET', '/health', undefined, false);
          return json.safe_mode === false ? true : undefined;
        });
      });
    }
  } finally {
    await step('cleanup', async () => {
      await db.query(`DELETE FROM public.learning_events WHERE user_id = $1`, [testUser]);
      await db.query(`DELETE FROM public.events_queue WHERE payload->>'user_id' = $1`, [testUser]);
      await db.query(`DELETE FROM auth.users WHERE id = $1`, [testUser]); // cascades interests, signals, jobs
    });
    await db.end();
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  },
);
