// Helpers for the bounded-influence tests (issue 12): users acting through the real routes
// (rank, rewards, the admin registration), waiting for their events to land through the real
// EVENTS queue, and running the */5 cron until given decisions are rolled up.
import { env } from 'cloudflare:test';
import { FEATURE_KEYS } from '../../src/learning/feature-keys';
import { runCron, waitFor } from './learning-support';
import { call, serviceHeaders, type TestDb, userHeaders } from './support';

export interface SlateItem {
  candidate_id: string;
  position: number;
  score: number;
  explored: boolean;
  p_exp: number;
}

export async function rankAs(user: string, body: Record<string, unknown>) {
  const res = await call('/v1/rank', { method: 'POST', headers: await userHeaders(user), json: body });
  if (res.status !== 200) throw new Error(`rank answered ${res.status}: ${res.text}`);
  return res.json as { decision_id: string; slate: SlateItem[] };
}

export async function rewardAs(user: string, body: Record<string, unknown>) {
  return call('/v1/rewards', { method: 'POST', headers: await userHeaders(user), json: body });
}

/** Reward through the route and insist it was queued. */
export async function rewardOk(user: string, body: Record<string, unknown>) {
  const res = await rewardAs(user, body);
  if (res.status !== 202 || res.json.accepted !== true) throw new Error(`reward answered ${res.status}: ${res.text}`);
}

export async function register(surface: string, ids: string[]) {
  const res = await call(`/admin/surfaces/${surface}/candidates`, {
    method: 'POST',
    headers: serviceHeaders(),
    json: { candidate_ids: ids },
  });
  if (res.status !== 200) throw new Error(`register answered ${res.status}: ${res.text}`);
  return res.json as { registered: string[]; already: string[] };
}

/** The victim's view: a pool-based slate (no candidates in the request) on `surface`. */
export async function poolSlate(user: string, surface: string, limit = 100) {
  const { slate } = await rankAs(user, { surface, limit });
  return slate.map(({ candidate_id, position, score, explored, p_exp }) => ({ candidate_id, position, score, explored, p_exp }));
}

/** Wait until every item of these decisions is in learning_events (sent by the rank route's buffer). */
export async function eventsLanded(db: TestDb, decisionIds: string[], items: number) {
  await waitFor(async () => {
    const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.learning_events WHERE decision_id = ANY($1::uuid[])', [
      decisionIds,
    ]);
    return r!.n === items;
  }, `${items} events of ${decisionIds.length} decisions`);
}

/** Wait until `n` rewards of these decisions are on their events, or rejected, per `where`. */
export async function rewardsLanded(db: TestDb, decisionIds: string[], n: number) {
  await waitFor(async () => {
    const [r] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM public.learning_rewards WHERE decision_id = ANY($1::uuid[]) AND (applied_at IS NOT NULL OR rejected_at IS NOT NULL)',
      [decisionIds],
    );
    return r!.n === n;
  }, `${n} rewards of ${decisionIds.length} decisions`);
}

/**
 * Run the five-minute cron (rollup, then hydrate-features) until every event of these decisions is below
 * the rollup's watermark and none of their reward changes waits in learning_reward_deltas — so an
 * assertion after it is about a rollup that saw them, not about one that had not yet.
 */
export async function rollUp(db: TestDb, decisionIds: string[]) {
  await waitFor(async () => {
    await runCron();
    const [r] = await db.query<{ unrolled: number; deltas: number }>(
      `SELECT (SELECT count(*)::int FROM public.learning_events le, public.learning_rollup_state s
                WHERE s.name = 'learning' AND le.decision_id = ANY($1::uuid[]) AND le.ins_xid >= s.watermark) AS unrolled,
              (SELECT count(*)::int FROM public.learning_reward_deltas d JOIN public.learning_events le ON le.id = d.event_id
                WHERE le.decision_id = ANY($1::uuid[])) AS deltas`,
      [decisionIds],
    );
    return r!.unrolled === 0 && r!.deltas === 0;
  }, 'the rollup of these decisions');
}

export async function candidateStats(db: TestDb, surface: string) {
  const rows = await db.query<{ candidate_id: string; impressions: string; rewarded: string; reward_sum: number }>(
    'SELECT candidate_id, impressions, rewarded, reward_sum FROM public.learning_candidate_stats WHERE surface = $1 ORDER BY candidate_id',
    [surface],
  );
  return rows.map((r) => [r.candidate_id, Number(r.impressions), Number(r.rewarded), r.reward_sum] as const);
}

/** The surface document hydrate-features wrote to this file's KV, without its name and timestamp. */
export async function surfaceDoc(surface: string) {
  const doc = (await env.FEATURES.get(FEATURE_KEYS.surface(surface), 'json')) as {
    surface: string;
    generated_at: string;
    mean_reward: number;
    stats: Record<string, [number, number]>;
    pools: { popular: string[]; recent: string[] };
  } | null;
  if (!doc) return null;
  const { surface: _s, generated_at: _g, ...rest } = doc;
  return rest;
}
