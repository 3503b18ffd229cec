// The consumer's writes, one statement per batch, idempotent (see ingest.ts for the handlers):
//  - impressions: INSERT … SELECT FROM unnest(typed arrays) ON CONFLICT (decision_id, candidate_id) DO NOTHING, so a redelivered
//    batch adds nothing; a reward that arrived first (learning_rewards, applied_at NULL) is merged
//    into the new row in the same statement and marked applied.
//  - rewards: UPDATE the impression if it is there and has no reward yet (first reward wins), and
//    record the reward in learning_rewards; if the impression has not landed yet the reward waits
//    there (pending). A reward racing its impression is merged by the rollup cron's sweep.
// No Worker types here: benchmarks and integration tests run the same statements from Node.
import type { ImpressionsMessage } from './messages';
import { boolArray, numberArray, textArray } from './pg-arrays';
import type { SqlRunner } from './sql';

// Decision-level columns as arrays of one element per decision, item-level columns as arrays of
// one element per slate item (d_ord = the item's decision, 1-based): typed arrays parse far faster
// than a JSON document, and nothing decision-level is repeated per item on the wire.
const INSERT_IMPRESSIONS = `
WITH d AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
    WITH ORDINALITY AS d(decision_id, user_id, surface, policy, ts, context, ord)
), i AS (
  SELECT * FROM unnest($7::int[], $8::text[], $9::int[], $10::float8[], $11::float8[], $12::bool[], $13::int[], $14::bool[],
                       $15::float8[], $16::bool[], $17::float8[], $18::float8[])
    AS i(d_ord, candidate_id, "position", score, p_exp, explored, n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
), ins AS (
  INSERT INTO public.learning_events (ts, user_id, surface, candidate_id, policy, p_exp, score, explored, reward, context,
    decision_id, "position", n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
  SELECT d.ts, d.user_id, d.surface, i.candidate_id, d.policy, i.p_exp, i.score, i.explored, pr.reward, d.context,
         d.decision_id, i."position", i.n_remaining, i.is_greedy, i.p_prefix, i.greedy_prefix, i.q_greedy, i.q_mean
  FROM i JOIN d ON d.ord = i.d_ord
  LEFT JOIN public.learning_rewards pr
    ON pr.decision_id = d.decision_id AND pr.candidate_id = i.candidate_id AND pr.user_id = d.user_id
   AND pr.applied_at IS NULL
  ON CONFLICT (decision_id, candidate_id) WHERE decision_id IS NOT NULL DO NOTHING
  RETURNING decision_id, candidate_id, user_id, reward
), merged AS (
  UPDATE public.learning_rewards pr SET applied_at = now()
  FROM ins
  WHERE ins.reward IS NOT NULL AND pr.decision_id = ins.decision_id AND pr.candidate_id = ins.candidate_id
    AND pr.user_id = ins.user_id AND pr.applied_at IS NULL
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM merged)::int AS merged`;

const RECORD_REWARDS = `
WITH input AS (
  SELECT DISTINCT ON (decision_id, candidate_id, user_id) *
  FROM json_to_recordset($1::json) AS r(decision_id uuid, candidate_id text, user_id uuid, reward float8, ts timestamptz)
  ORDER BY decision_id, candidate_id, user_id, ts
), upd AS (
  UPDATE public.learning_events le SET reward = i.reward
  FROM input i
  WHERE le.decision_id = i.decision_id AND le.candidate_id = i.candidate_id AND le.user_id = i.user_id
    AND le.reward IS NULL
  RETURNING le.decision_id, le.candidate_id, le.user_id
), ins AS (
  INSERT INTO public.learning_rewards (decision_id, candidate_id, user_id, reward, received_at, applied_at)
  SELECT i.decision_id, i.candidate_id, i.user_id, i.reward, i.ts, CASE WHEN u.decision_id IS NULL THEN NULL ELSE now() END
  FROM input i
  LEFT JOIN upd u ON u.decision_id = i.decision_id AND u.candidate_id = i.candidate_id AND u.user_id = i.user_id
  ON CONFLICT (decision_id, candidate_id, user_id) DO NOTHING
  RETURNING applied_at
)
SELECT (SELECT count(*) FROM upd)::int AS applied,
       (SELECT count(*) FROM ins WHERE applied_at IS NULL)::int AS pending`;

export interface DecisionLog {
  decision_id: string;
  user_id: string | null;
  surface: string;
  policy: string;
  ts: string;
  context: Record<string, unknown>;
  events: ImpressionsMessage['events'];
}

/** The statement's 18 array parameters for a set of decisions (one pass, no per-item objects). */
export function impressionParams(decisions: readonly DecisionLog[]): string[] {
  const dOrd: number[] = [], cand: string[] = [], pos: number[] = [], score: (number | null)[] = [], pExp: number[] = [];
  const explored: boolean[] = [], nRem: (number | null | undefined)[] = [], isGreedy: (boolean | null | undefined)[] = [];
  const pPrefix: (number | null | undefined)[] = [], greedyPrefix: (boolean | null | undefined)[] = [];
  const qGreedy: (number | null | undefined)[] = [], qMean: (number | null | undefined)[] = [];
  decisions.forEach((d, j) => {
    for (const e of d.events) {
      dOrd.push(j + 1); cand.push(e.candidate_id); pos.push(e.position); score.push(e.score); pExp.push(e.p_exp);
      explored.push(e.explored); nRem.push(e.n_remaining); isGreedy.push(e.is_greedy); pPrefix.push(e.p_prefix);
      greedyPrefix.push(e.greedy_prefix); qGreedy.push(e.q_greedy); qMean.push(e.q_mean);
    }
  });
  return [
    textArray(decisions.map((d) => d.decision_id)), textArray(decisions.map((d) => d.user_id)),
    textArray(decisions.map((d) => d.surface)), textArray(decisions.map((d) => d.policy)),
    textArray(decisions.map((d) => d.ts)), textArray(decisions.map((d) => JSON.stringify(d.context ?? {}))),
    numberArray(dOrd), textArray(cand), numberArray(pos), numberArray(score), numberArray(pExp), boolArray(explored),
    numberArray(nRem), boolArray(isGreedy), numberArray(pPrefix), boolArray(greedyPrefix), numberArray(qGreedy), numberArray(qMean),
  ];
}

/** Insert the events of many decisions in one statement. Returns rows inserted and rewards merged. */
export async function insertImpressions(sql: SqlRunner, decisions: readonly DecisionLog[]) {
  if (decisions.length === 0) return { inserted: 0, merged: 0 };
  const [row] = await sql.query<{ inserted: number; merged: number }>(INSERT_IMPRESSIONS, impressionParams(decisions));
  return row!;
}

export interface RewardLog {
  decision_id: string;
  candidate_id: string;
  user_id: string;
  reward: number;
  ts: string;
}

/** Apply or park many rewards in one statement. Returns how many landed on impressions / wait. */
export async function recordRewards(sql: SqlRunner, rewards: readonly RewardLog[]) {
  if (rewards.length === 0) return { applied: 0, pending: 0 };
  const [row] = await sql.query<{ applied: number; pending: number }>(RECORD_REWARDS, [JSON.stringify(rewards)]);
  return row!;
}
