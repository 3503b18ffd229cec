// The consumer's writes, one statement per batch, idempotent (see ingest.ts for the handlers):
//  - impressions: INSERT … SELECT FROM unnest(typed arrays) ON CONFLICT (decision_id, candidate_id) DO NOTHING, so a redelivered
//    batch adds nothing; a reward that arrived first (learning_rewards, applied_at NULL) is merged
//    into the new row in the same statement and marked applied.
//  - rewards: UPDATE the impression if it is there and has no reward yet (first reward wins), and
//    record the reward in learning_rewards; if the impression has not landed yet the reward waits
//    there (pending). A reward racing its impression is merged by the rollup cron's sweep.
//  - every path that applies a reward to its impression (here, at impression insert, in the sweep)
//    first checks it against the reward range of the impression's real surface (joinRange: what
//    public.reward_range_for() says, inline); outside it the reward is not applied but kept in learning_rewards
//    as rejected (rejected_at, rejection) and counted in learning.rewards_rejected.
//  - both drop the rows of erased users (their tombstone) in the same statement as the write.
// No Worker types here: benchmarks and integration tests run the same statements from Node (pgDb).
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, queryOne } from '../db/sql';
import type { ImpressionsMessage } from './messages';
import { boolArray, numberArray, textArray } from './pg-arrays';
import { joinRange, REJECTION_TEXT, rangeMax, rangeMin, rejectedRewardsMetric } from './queries-reward-ranges';

export interface DecisionLog {
  decision_id: string;
  user_id: string | null;
  surface: string;
  policy: string;
  ts: string;
  context: Record<string, unknown>;
  events: ImpressionsMessage['events'];
}

/** The insert's 18 array parameters, Postgres array literals ('{…}' text, cast in the SQL). */
export type ImpressionParams = readonly [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];

/** The statement's 18 array parameters for a set of decisions (one pass, no per-item objects). */
export function impressionParams(decisions: readonly DecisionLog[]): ImpressionParams {
  const dOrd: number[] = [],
    cand: string[] = [],
    pos: number[] = [],
    score: (number | null)[] = [],
    pExp: number[] = [];
  const explored: boolean[] = [],
    nRem: (number | null | undefined)[] = [],
    isGreedy: (boolean | null | undefined)[] = [];
  const pPrefix: (number | null | undefined)[] = [],
    greedyPrefix: (boolean | null | undefined)[] = [];
  const qGreedy: (number | null | undefined)[] = [],
    qMean: (number | null | undefined)[] = [];
  decisions.forEach((d, j) => {
    for (const e of d.events) {
      dOrd.push(j + 1);
      cand.push(e.candidate_id);
      pos.push(e.position);
      score.push(e.score);
      pExp.push(e.p_exp);
      explored.push(e.explored);
      nRem.push(e.n_remaining);
      isGreedy.push(e.is_greedy);
      pPrefix.push(e.p_prefix);
      greedyPrefix.push(e.greedy_prefix);
      qGreedy.push(e.q_greedy);
      qMean.push(e.q_mean);
    }
  });
  return [
    textArray(decisions.map((d) => d.decision_id)),
    textArray(decisions.map((d) => d.user_id)),
    textArray(decisions.map((d) => d.surface)),
    textArray(decisions.map((d) => d.policy)),
    textArray(decisions.map((d) => d.ts)),
    textArray(decisions.map((d) => JSON.stringify(d.context ?? {}))),
    numberArray(dOrd),
    textArray(cand),
    numberArray(pos),
    numberArray(score),
    numberArray(pExp),
    boolArray(explored),
    numberArray(nRem),
    boolArray(isGreedy),
    numberArray(pPrefix),
    boolArray(greedyPrefix),
    numberArray(qGreedy),
    numberArray(qMean),
  ];
}

// Decision-level columns as arrays of one element per decision, item-level columns as arrays of
// one element per slate item (d_ord = the item's decision, 1-based): typed arrays parse far faster
// than a JSON document, and nothing decision-level is repeated per item on the wire.
// Decisions of erased users (a tombstone, migration 0770) are dropped here: erased_users_among
// holds the erasure lock shared while it reads the tombstones, so an erasure either deletes what
// this statement writes or this statement sees its tombstone.
const insertImpressionsSql = (p: ImpressionParams) => sql`
WITH d0 AS (
  SELECT * FROM unnest(${p[0]}::uuid[], ${p[1]}::uuid[], ${p[2]}::text[], ${p[3]}::text[], ${p[4]}::timestamptz[], ${p[5]}::jsonb[])
    WITH ORDINALITY AS d(decision_id, user_id, surface, policy, ts, context, ord)
), erased AS (
  SELECT public.erased_users_among(array_agg(DISTINCT user_id)) AS ids FROM d0
), d AS (
  SELECT d0.* FROM d0, erased WHERE d0.user_id IS NULL OR d0.user_id <> ALL (erased.ids)
), i AS (
  SELECT * FROM unnest(${p[6]}::int[], ${p[7]}::text[], ${p[8]}::int[], ${p[9]}::float8[], ${p[10]}::float8[], ${p[11]}::bool[],
                       ${p[12]}::int[], ${p[13]}::bool[], ${p[14]}::float8[], ${p[15]}::bool[], ${p[16]}::float8[], ${p[17]}::float8[])
    AS i(d_ord, candidate_id, "position", score, p_exp, explored, n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
), pend AS (
  -- Rewards that arrived before these decisions' impressions (one index probe per decision, not
  -- per item), each checked against its decision's surface range.
  SELECT d.ord, pr.decision_id, pr.candidate_id, pr.user_id, pr.reward, d.surface, ${rangeMin('rr')} AS min_reward,
         ${rangeMax('rr')} AS max_reward, pr.reward BETWEEN ${rangeMin('rr')} AND ${rangeMax('rr')} AS in_range
  FROM d JOIN public.learning_rewards pr ON pr.decision_id = d.decision_id AND pr.user_id = d.user_id
  ${joinRange('d.surface', 'rr')}
  WHERE pr.applied_at IS NULL AND pr.rejected_at IS NULL
), ins AS (
  INSERT INTO public.learning_events (ts, user_id, surface, candidate_id, policy, p_exp, score, explored, reward, context,
    decision_id, "position", n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
  SELECT d.ts, d.user_id, d.surface, i.candidate_id, d.policy, i.p_exp, i.score, i.explored, pr.reward, d.context,
         d.decision_id, i."position", i.n_remaining, i.is_greedy, i.p_prefix, i.greedy_prefix, i.q_greedy, i.q_mean
  FROM i JOIN d ON d.ord = i.d_ord
  LEFT JOIN pend pr ON pr.ord = d.ord AND pr.candidate_id = i.candidate_id AND pr.in_range
  ON CONFLICT (decision_id, candidate_id) WHERE decision_id IS NOT NULL DO NOTHING
  RETURNING decision_id, candidate_id, user_id, reward
), merged AS (
  UPDATE public.learning_rewards pr SET applied_at = now()
  FROM ins
  WHERE ins.reward IS NOT NULL AND pr.decision_id = ins.decision_id AND pr.candidate_id = ins.candidate_id
    AND pr.user_id = ins.user_id AND pr.applied_at IS NULL
  RETURNING 1
), rejected AS (
  UPDATE public.learning_rewards pr SET rejected_at = now(), surface = p.surface, rejection = ${REJECTION_TEXT('p')}
  FROM pend p JOIN i ON i.d_ord = p.ord AND i.candidate_id = p.candidate_id
  WHERE NOT p.in_range AND pr.decision_id = p.decision_id AND pr.candidate_id = p.candidate_id AND pr.user_id = p.user_id
    AND pr.applied_at IS NULL AND pr.rejected_at IS NULL
  RETURNING pr.surface, pr.rejected_at
), ${rejectedRewardsMetric('rejected')}
SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM merged)::int AS merged,
       (SELECT count(*) FROM rejected)::int AS rejected,
       (SELECT count(*) FROM d0)::int - (SELECT count(*) FROM d)::int AS erased_dropped`;

const InsertedRow = z.object({ inserted: col.number, merged: col.number, rejected: col.number, erased_dropped: col.number });

/** Insert the events of many decisions in one statement. Returns rows inserted, rewards merged and rewards rejected. */
export async function insertImpressions(db: Db, decisions: readonly DecisionLog[]): Promise<z.output<typeof InsertedRow>> {
  if (decisions.length === 0) return { inserted: 0, merged: 0, rejected: 0, erased_dropped: 0 };
  return queryOne(db, 'learning.insert_impressions', InsertedRow, insertImpressionsSql(impressionParams(decisions)));
}

export interface RewardLog {
  decision_id: string;
  candidate_id: string;
  user_id: string;
  reward: number;
  ts: string;
}

const recordRewardsSql = (rewardsJson: string) => sql`
WITH received AS (
  SELECT DISTINCT ON (decision_id, candidate_id, user_id) *
  FROM json_to_recordset(${rewardsJson}::json) AS r(decision_id uuid, candidate_id text, user_id uuid, reward float8, ts timestamptz)
  ORDER BY decision_id, candidate_id, user_id, ts
), erased AS (
  SELECT public.erased_users_among(array_agg(DISTINCT user_id)) AS ids FROM received
), input AS (
  SELECT received.* FROM received, erased WHERE received.user_id <> ALL (erased.ids)
), target AS (
  -- Each reward with the impression it is for (the same user's: nobody rewards another user's
  -- decision) and whether it is inside that impression's surface range (NULL: not landed yet).
  SELECT i.*, le.id AS event_id, le.surface, ${rangeMin('rr')} AS min_reward, ${rangeMax('rr')} AS max_reward,
         CASE WHEN le.id IS NOT NULL THEN i.reward BETWEEN ${rangeMin('rr')} AND ${rangeMax('rr')} END AS in_range
  FROM input i
  LEFT JOIN public.learning_events le
    ON le.decision_id = i.decision_id AND le.candidate_id = i.candidate_id AND le.user_id = i.user_id
  ${joinRange('le.surface', 'rr')}
), upd AS (
  UPDATE public.learning_events le SET reward = t.reward
  FROM target t
  WHERE le.id = t.event_id AND t.in_range AND le.reward IS NULL
  RETURNING le.decision_id, le.candidate_id, le.user_id
), ins AS (
  INSERT INTO public.learning_rewards AS pr (decision_id, candidate_id, user_id, reward, received_at, applied_at, surface, rejected_at, rejection)
  SELECT t.decision_id, t.candidate_id, t.user_id, t.reward, t.ts, CASE WHEN u.decision_id IS NULL THEN NULL ELSE now() END,
         t.surface, CASE WHEN NOT t.in_range THEN now() END, CASE WHEN NOT t.in_range THEN ${REJECTION_TEXT('t')} END
  FROM target t
  LEFT JOIN upd u ON u.decision_id = t.decision_id AND u.candidate_id = t.candidate_id AND u.user_id = t.user_id
  ON CONFLICT (decision_id, candidate_id, user_id) DO NOTHING
  RETURNING pr.decision_id, pr.candidate_id, pr.surface, pr.applied_at, pr.rejected_at, pr.rejection
), ${rejectedRewardsMetric('ins')}
SELECT (SELECT count(*) FROM upd)::int AS applied,
       (SELECT count(*) FROM ins WHERE applied_at IS NULL AND rejected_at IS NULL)::int AS pending,
       (SELECT count(*) FROM ins WHERE rejected_at IS NOT NULL)::int AS rejected,
       (SELECT coalesce(json_agg(json_build_object('decision_id', x.decision_id, 'candidate_id', x.candidate_id, 'surface', x.surface,
                                                   'rejection', x.rejection)), '[]')
        FROM (SELECT * FROM ins WHERE rejected_at IS NOT NULL LIMIT 10) x) AS rejected_sample,
       (SELECT count(*) FROM received)::int - (SELECT count(*) FROM input)::int AS erased_dropped`;

const RejectedReward = z.object({ decision_id: z.string(), candidate_id: z.string(), surface: z.string(), rejection: z.string() });
const RecordedRow = z.object({
  applied: col.number,
  pending: col.number,
  rejected: col.number,
  rejected_sample: z.array(RejectedReward),
  erased_dropped: col.number,
});

/**
 * Apply, park or reject many rewards in one statement. Returns how many landed on impressions,
 * wait for theirs, were rejected (outside their surface's range), and up to 10 rejected ones.
 */
export async function recordRewards(db: Db, rewards: readonly RewardLog[]): Promise<z.output<typeof RecordedRow>> {
  if (rewards.length === 0) return { applied: 0, pending: 0, rejected: 0, rejected_sample: [], erased_dropped: 0 };
  return queryOne(db, 'learning.record_rewards', RecordedRow, recordRewardsSql(JSON.stringify(rewards)));
}
