// A populated operations picture for dashboard tests and demos: six hours of healthy per-minute
// rollups for a few operations (tests add the trouble themselves), discovery jobs in every state
// (some dead), outbox rows, dead queue messages, and learning events of a live policy.
// Written with plain SQL, the way rows arrive in production (rollups as the consumer merges them).
import type pg from 'pg';

export const FIXTURE_OPS = ['POST /v1/rank', 'GET /v1/flags', 'auth.login'] as const;

export async function seedOperationsFixture(db: pg.Client): Promise<void> {
  // Rollups: 360 minutes × 3 operations. Latencies from a log-normal-ish spread via bucket indices.
  await db.query(`
    INSERT INTO public.request_metrics_minute (operation, minute, requests, errors, latency_sum_ms, buckets)
    SELECT op, date_trunc('minute', now()) - make_interval(mins => m), 51,
           0,
           51 * base,
           (SELECT array_agg(CASE WHEN i BETWEEN c - 3 AND c + 3 THEN (9 - abs(i - c))::bigint ELSE 0 END ORDER BY i)
              FROM generate_series(0, c + 3) i)
    FROM generate_series(0, 359) m,
         (VALUES ('POST /v1/rank', 40.0, 21), ('GET /v1/flags', 12.0, 14), ('auth.login', 90.0, 26)) AS o(op, base, c)
    ON CONFLICT (operation, minute) DO NOTHING`);
  // Discovery jobs: queued (one old) and done for one interest; two dead ones for two others.
  await db.query(`
    INSERT INTO public.marketplace_discovery_queue (interest_id, topic, status, attempts, last_error, created_at, updated_at, processed_at, dead_at)
    SELECT (SELECT id FROM public.interest_catalog ORDER BY name LIMIT 1 OFFSET s.interest), 'discovery.user-signup',
           s.status, s.attempts, s.err, now() - s.age, now(),
           CASE WHEN s.status = 'done' THEN now() - s.age + interval '2 seconds' END,
           CASE WHEN s.status = 'error' THEN now() - interval '5 minutes' END
    FROM (VALUES (0, 'queued', 0, NULL, interval '20 seconds'), (0, 'queued', 0, NULL, interval '8 minutes'),
                 (0, 'done', 1, NULL, interval '30 minutes'), (1, 'error', 5, 'upstream catalog timeout', interval '40 minutes'),
                 (2, 'error', 5, 'invalid category mapping', interval '50 minutes')) AS s(interest, status, attempts, err, age)`);
  // Outbox: one waiting row; one dead queue message recorded by the dead-letter consumer.
  await db.query(`
    INSERT INTO public.events_queue (topic, payload, status, attempts, last_error, created_at, dead_at)
    VALUES ('discovery.user-signup', '{"user_id": null}', 'queued', 0, NULL, now() - interval '30 seconds', NULL),
           ('learning.event', '{"dead_key": "edge-events:fixture-1"}', 'error', 6, 'retries exhausted on edge-events', now() - interval '1 hour', now() - interval '50 minutes')`);
  // A live policy (matches the ranker.policy flag) exploring at about its epsilon.
  await db.query(`
    INSERT INTO public.learning_events (ts, surface, candidate_id, policy, p_exp, score, explored, reward, decision_id, position)
    SELECT now() - make_interval(secs => g * 3), 'feed', 'cand_' || (g % 17), 'epsilon_greedy_v1', 0.08, 0.5,
           (g % 12 = 0), CASE WHEN g % 5 = 0 THEN 1.0 END, gen_random_uuid(), 0
    FROM generate_series(1, 240) g`);
}
