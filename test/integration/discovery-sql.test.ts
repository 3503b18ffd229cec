// public.discovery_process_job: the discovery step both the DISCOVERY consumer and the
// queue-worker route run. Only the holder of the current lease changes anything; gaps follow the
// measured supply; running a job again changes nothing.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createUser } from '../support/pg';

let db: pg.Client;
beforeAll(async () => {
  db = await connect();
});
afterAll(async () => {
  await db.end();
});

async function setup(candidates: number) {
  const user = await createUser(db);
  const {
    rows: [interest],
  } = await db.query('INSERT INTO public.interest_catalog (name) VALUES ($1) RETURNING id', [`SQL ${crypto.randomUUID()}`]);
  const category = (await db.query('SELECT public.ensure_category_for_interest($1) AS id', [interest.id])).rows[0].id;
  for (let i = 0; i < candidates; i++) {
    await db.query('INSERT INTO public.marketplace_candidates (category_id, title) VALUES ($1, $2)', [category, `c${i}`]);
  }
  return { user, interest: interest.id as string, category: category as string };
}

async function leasedJob(user: string, interest: string): Promise<{ id: string; token: string }> {
  const {
    rows: [job],
  } = await db.query(
    `INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, status, lease_token, lease_expires_at, attempts)
     VALUES ($1, $2, 'processing', gen_random_uuid(), now() + interval '1 minute', 1) RETURNING id, lease_token`,
    [user, interest],
  );
  return { id: job.id, token: job.lease_token };
}

const run = async (id: string, token: string) =>
  (await db.query('SELECT public.discovery_process_job($1, $2) AS r', [id, token])).rows[0].r;

describe('discovery_process_job', () => {
  it('records a gap where supply is short and marks the job done', async () => {
    const s = await setup(1);
    const job = await leasedJob(s.user, s.interest);
    expect(await run(job.id, job.token)).toEqual({
      outcome: 'done',
      category_id: s.category,
      candidate_count: 1,
      required_count: 3,
      gap: 2,
    });
    const {
      rows: [row],
    } = await db.query('SELECT status, processed_at, lease_token FROM public.marketplace_discovery_queue WHERE id = $1', [job.id]);
    expect(row).toMatchObject({ status: 'done', lease_token: null });
    expect(row.processed_at).not.toBeNull();
    const { rows: gaps } = await db.query(
      'SELECT candidate_count, required_count, gap FROM public.marketplace_gaps WHERE interest_id = $1',
      [s.interest],
    );
    expect(gaps).toEqual([{ candidate_count: 1, required_count: 3, gap: 2 }]);
  });

  it('changes nothing for a caller without the lease, or when the job is gone', async () => {
    const s = await setup(0);
    const job = await leasedJob(s.user, s.interest);
    expect(await run(job.id, crypto.randomUUID())).toEqual({ outcome: 'lease_lost', status: 'processing' });
    expect(await run(crypto.randomUUID(), job.token)).toEqual({ outcome: 'missing' });
    const { rows } = await db.query('SELECT 1 FROM public.marketplace_gaps WHERE interest_id = $1', [s.interest]);
    expect(rows).toHaveLength(0);
    // Done once; a second run with the same (now cleared) lease is a no-op.
    expect((await run(job.id, job.token)).outcome).toBe('done');
    const {
      rows: [gapBefore],
    } = await db.query('SELECT updated_at FROM public.marketplace_gaps WHERE interest_id = $1', [s.interest]);
    expect(await run(job.id, job.token)).toEqual({ outcome: 'lease_lost', status: 'done' });
    const {
      rows: [gapAfter],
    } = await db.query('SELECT updated_at FROM public.marketplace_gaps WHERE interest_id = $1', [s.interest]);
    expect(gapAfter.updated_at).toEqual(gapBefore.updated_at);
  });

  it('closes a gap when supply recovers and re-detects it when it opens again', async () => {
    const s = await setup(1);
    const first = await leasedJob(s.user, s.interest);
    await run(first.id, first.token);
    const {
      rows: [opened],
    } = await db.query('SELECT detected_at FROM public.marketplace_gaps WHERE interest_id = $1', [s.interest]);

    for (let i = 0; i < 2; i++)
      await db.query('INSERT INTO public.marketplace_candidates (category_id, title) VALUES ($1, $2)', [s.category, `more${i}`]);
    const second = await leasedJob(s.user, s.interest);
    expect((await run(second.id, second.token)).gap).toBe(0);
    const {
      rows: [closed],
    } = await db.query('SELECT candidate_count, gap, detected_at FROM public.marketplace_gaps WHERE interest_id = $1', [s.interest]);
    expect(closed).toMatchObject({ candidate_count: 3, gap: 0 });
    expect(closed.detected_at).toEqual(opened.detected_at);

    await db.query('UPDATE public.marketplace_candidates SET active = false WHERE category_id = $1', [s.category]);
    const third = await leasedJob(s.user, s.interest);
    expect((await run(third.id, third.token)).gap).toBe(3);
    const {
      rows: [reopened],
    } = await db.query('SELECT gap, detected_at FROM public.marketplace_gaps WHERE interest_id = $1', [s.interest]);
    expect(reopened.gap).toBe(3);
    expect(reopened.detected_at.getTime()).toBeGreaterThan(closed.detected_at.getTime());
  });

  it('creates and maps a category for an interest without one', async () => {
    const user = await createUser(db);
    const name = `Unmapped ${crypto.randomUUID()}`;
    const {
      rows: [interest],
    } = await db.query('INSERT INTO public.interest_catalog (name) VALUES ($1) RETURNING id', [name]);
    const job = await leasedJob(user, interest.id);
    const r = await run(job.id, job.token);
    expect(r).toMatchObject({ outcome: 'done', candidate_count: 0, required_count: 3, gap: 3 });
    const {
      rows: [cat],
    } = await db.query('SELECT name FROM public.marketplace_categories WHERE id = $1', [r.category_id]);
    expect(cat.name).toBe(name);
  });

  it('is not executable by end users', async () => {
    const {
      rows: [p],
    } =
      await db.query(`SELECT has_function_privilege('authenticated', 'public.discovery_process_job(uuid, uuid, integer)', 'EXECUTE') AS user_can,
                                                 has_function_privilege('service_role', 'public.discovery_process_job(uuid, uuid, integer)', 'EXECUTE') AS service_can`);
    expect(p).toEqual({ user_can: false, service_can: true });
  });
});
