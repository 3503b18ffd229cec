// The erasure's SQL (migration 0770) as an operator would run it: the tombstone and the lock that
// keeps a consumer's in-flight write from surviving an erasure, idempotency, a ledger without the
// user, and the tombstones' retention.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgDb } from '../../scripts/lib/pg-db';
import { leaseJobsByToken } from '../../src/discovery/queries';
import { type DecisionLog, insertImpressions, recordRewards } from '../../src/learning/queries-ingest';
import { recordDeadMessages } from '../../src/queues/dead-letters';
import { connect, createUser, freshDatabase } from '../support/pg';

let fresh: Awaited<ReturnType<typeof freshDatabase>>;
let db: pg.Client;
let other: pg.Client;
beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
  other = await connect(fresh.url);
});
afterAll(async () => {
  await db?.end();
  await other?.end();
  await fresh?.drop();
});

const begin = (c: pg.Client, user: string, actor = 'sql-test') =>
  c.query<{ erasure_id: string; created: boolean }>("SELECT * FROM public.begin_user_erasure($1, $2, 'test', 'req-1')", [user, actor]);

const insertEvent = (c: pg.Client, user: string, candidate: string) =>
  c.query(
    `INSERT INTO public.learning_events (user_id, surface, candidate_id, policy, decision_id)
     SELECT u, 'erasure-sql', $2, 'p', gen_random_uuid() FROM unnest(ARRAY[$1::uuid]) AS u
      WHERE u <> ALL (public.erased_users_among(ARRAY[$1::uuid]))`,
    [user, candidate],
  );

describe('tombstone and lock', () => {
  it('an erasure waits for a consumer write holding the lock, then deletes what it wrote; later writes see the tombstone', async () => {
    const user = await createUser(db);
    // A consumer statement in flight: it has checked the tombstones (none) and holds the lock shared.
    await other.query('BEGIN');
    await insertEvent(other, user, 'in-flight');

    let begun = false;
    const erasure = begin(db, user).then((r) => {
      begun = true;
      return r.rows[0]!;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(begun).toBe(false); // blocked on the consumer's shared lock
    await other.query('COMMIT');
    const { erasure_id, created } = await erasure;
    expect(created).toBe(true);

    // The tombstone is committed: a write arriving now is dropped by the same statement.
    const late = await insertEvent(other, user, 'late');
    expect(late.rowCount).toBe(0);

    const { rows } = await db.query('SELECT public.erase_user_rows($1, $2) AS deleted', [erasure_id, user]);
    expect(rows[0].deleted).toMatchObject({ 'public.learning_events': 1, 'auth.users': 1 });
    const left = await db.query('SELECT count(*)::int AS n FROM public.learning_events WHERE user_id = $1', [user]);
    expect(left.rows[0].n).toBe(0);
  });

  it('is idempotent: the same erasure while the tombstone lives, one ledger row per request, no user id in either', async () => {
    const user = await createUser(db, 'someone@example.test');
    const first = (await begin(db, user, 'api:service')).rows[0]!;
    const again = (await begin(db, user, 'cli')).rows[0]!;
    expect(again).toEqual({ erasure_id: first.erasure_id, created: false });

    const ledger = await db.query(
      `SELECT actor, action, target, reason, metadata, new_value FROM public.ai_action_ledger WHERE target = $1 ORDER BY id`,
      [`erasure:${first.erasure_id}`],
    );
    expect(ledger.rows.map((r) => [r.actor, r.action, r.reason, r.metadata.repeat])).toEqual([
      ['api:service', 'user.erase', 'test', false],
      ['cli', 'user.erase', 'test', true],
    ]);
    const texts = ledger.rows.map((r) => JSON.stringify(r)).join('\n');
    expect(texts).not.toContain(user);
    expect(texts).not.toContain('someone@example.test');

    // The tombstone is a keyed hash: neither the id nor its plain SHA-256.
    const tomb = await db.query('SELECT subject_hash FROM public.erasure_tombstones WHERE erasure_id = $1', [first.erasure_id]);
    const plain = await db.query("SELECT encode(digest($1, 'sha256'), 'hex') AS h", [user]);
    expect(tomb.rows).toHaveLength(1);
    expect(tomb.rows[0].subject_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(tomb.rows[0].subject_hash).not.toBe(plain.rows[0].h);
    expect((await db.query('SELECT public.user_erased($1) AS e', [user])).rows[0].e).toBe(true);
    expect((await db.query('SELECT public.user_erased($1) AS e', [crypto.randomUUID()])).rows[0].e).toBe(false);
  });

  it('deletes outbox and dead-letter payloads that name the user, and no one else', async () => {
    const user = await createUser(db);
    const bystander = crypto.randomUUID();
    await db.query(
      `INSERT INTO public.events_queue (topic, payload) VALUES
         ('discovery.user-signup', jsonb_build_object('user_id', $1::text, 'job_ids', '[]'::jsonb)),
         ('learning.impressions.batch', jsonb_build_object('body', jsonb_build_object('decisions', jsonb_build_array(jsonb_build_object('user_id', upper($1::text)))))),
         ('discovery.user-signup', jsonb_build_object('user_id', $2::text))`,
      [user, bystander],
    );
    const { erasure_id } = (await begin(db, user)).rows[0]!;
    const { rows } = await db.query('SELECT public.erase_user_rows($1, $2) AS deleted', [erasure_id, user]);
    expect(rows[0].deleted['public.events_queue']).toBe(2);
    const left = await db.query('SELECT count(*)::int AS n FROM public.events_queue WHERE payload::text LIKE $1', [`%${bystander}%`]);
    expect(left.rows[0].n).toBe(1);
  });

  it('redacts ledger rows that name the user (e.g. a per-user limit change) and leaves the rest of the ledger alone', async () => {
    const user = await createUser(db);
    const bystander = crypto.randomUUID();
    const trail = (who: string) =>
      db.query<{ id: string }>(
        `INSERT INTO public.ai_action_ledger (actor, action, target, old_value, new_value, reason, metadata)
         VALUES ('sql', 'rate_limit.set', 'rate_limits:user:' || $1, NULL, jsonb_build_object('user_id', upper($1), 'max_requests', 9),
                 'raise for ' || $1, '{"path":"sql"}') RETURNING id`,
        [who],
      );
    const mine = (await trail(user)).rows[0]!.id;
    const theirs = (await trail(bystander)).rows[0]!.id;
    const { erasure_id } = (await begin(db, user)).rows[0]!;
    const { rows } = await db.query('SELECT public.erase_user_rows($1, $2) AS deleted', [erasure_id, user]);
    expect(rows[0].deleted['public.ai_action_ledger (redacted)']).toBe(1);

    const { rows: after } = await db.query(
      'SELECT id::text, target, new_value, reason, metadata FROM public.ai_action_ledger WHERE id IN ($1, $2) ORDER BY id',
      [mine, theirs],
    );
    expect(after[0]).toMatchObject({
      target: `rate_limits:user:erased:${erasure_id}`,
      new_value: { user_id: `erased:${erasure_id}`, max_requests: 9 },
      reason: `raise for erased:${erasure_id}`,
    });
    expect(JSON.stringify(after[0]).toLowerCase()).not.toContain(user);
    expect(after[1]).toMatchObject({ target: `rate_limits:user:${bystander}`, reason: `raise for ${bystander}` });
    // The erasure's own rows name the erasure only, and stay as they were.
    const own = await db.query("SELECT count(*)::int AS n FROM public.ai_action_ledger WHERE action = 'user.erase' AND target = $1", [
      `erasure:${erasure_id}`,
    ]);
    expect(own.rows[0].n).toBe(1);
  });

  it('gc_erasure_tombstones drops tombstones past the window and keeps the erasure record', async () => {
    const user = await createUser(db);
    const { erasure_id } = (await begin(db, user)).rows[0]!;
    await db.query("UPDATE public.erasure_tombstones SET created_at = now() - interval '91 days' WHERE erasure_id = $1", [erasure_id]);
    const { rows } = await db.query('SELECT public.gc_erasure_tombstones(5000) AS n');
    expect(Number(rows[0].n)).toBeGreaterThanOrEqual(1);
    expect((await db.query('SELECT public.user_erased($1) AS e', [user])).rows[0].e).toBe(false);
    expect((await db.query('SELECT count(*)::int AS n FROM public.user_erasures WHERE id = $1', [erasure_id])).rows[0].n).toBe(1);
  });
});

describe("the consumers' writes skip tombstoned users (the statements the Worker runs)", () => {
  const decision = (user: string): DecisionLog => ({
    decision_id: crypto.randomUUID(),
    user_id: user,
    surface: 'erasure-sql',
    policy: 'p',
    ts: new Date().toISOString(),
    context: {},
    events: [{ candidate_id: 'a', position: 0, score: null, p_exp: 1, explored: false }],
  });

  it('impressions, rewards, dead letters and discovery leases of an erased user write nothing; a bystander is unaffected', async () => {
    const erased = await createUser(db);
    const bystander = await createUser(db);
    await begin(db, erased);
    const d = pgDb(db);

    const [mine, theirs] = [decision(erased), decision(bystander)];
    expect(await insertImpressions(d, [mine, theirs])).toEqual({ inserted: 1, merged: 0, rejected: 0, erased_dropped: 1 });
    const rewards = [mine, theirs].map((x) => ({
      decision_id: x.decision_id,
      candidate_id: 'a',
      user_id: x.user_id!,
      reward: 1,
      ts: new Date().toISOString(),
    }));
    expect(await recordRewards(d, rewards)).toMatchObject({ applied: 1, erased_dropped: 1 });

    const dead = (user: string) => ({
      queue: 'edge-events-dlq',
      messageId: crypto.randomUUID(),
      body: { type: 'learning.reward', user_id: user },
      attempts: 6,
      error: 'test',
    });
    await recordDeadMessages(d, [dead(erased), dead(bystander)]);

    // A discovery job that is still there for the erased user (e.g. created before the erasure ran):
    // the consumer's lease deletes it instead of running it.
    const { rows: job } = await db.query<{ id: string }>(
      `INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, topic) VALUES ($1, '11111111-1111-1111-1111-111111111111', 'discovery.job') RETURNING id`,
      [erased],
    );
    expect(await leaseJobsByToken(d, [{ id: job[0]!.id, token: crypto.randomUUID(), gen: null }], 60)).toEqual([]);

    for (const [table, column] of [
      ['learning_events', 'user_id'],
      ['learning_rewards', 'user_id'],
      ['marketplace_discovery_queue', 'user_id'],
    ]) {
      const { rows } = await db.query(`SELECT user_id::text AS u FROM public.${table} WHERE ${column} IN ($1, $2)`, [erased, bystander]);
      expect(
        rows.map((r) => r.u),
        table,
      ).not.toContain(erased);
    }
    const { rows: letters } = await db.query('SELECT payload::text AS p FROM public.events_queue WHERE payload::text ~ $1', [
      `${erased}|${bystander}`,
    ]);
    expect(letters.map((r) => r.p.includes(bystander))).toEqual([true]);
  });
});
