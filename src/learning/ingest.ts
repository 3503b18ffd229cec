// Consumer side of the learning messages. Each batch is written with ONE statement, idempotently:
//  - impressions: INSERT … ON CONFLICT (decision_id, candidate_id) DO NOTHING, so a redelivered
//    batch adds nothing; a reward that arrived first (learning_rewards, applied_at NULL) is merged
//    into the new row in the same statement and marked applied.
//  - rewards: UPDATE the impression if it is there and has no reward yet (first reward wins), and
//    record the reward in learning_rewards; if the impression has not landed yet the reward waits
//    there (pending). A reward racing its impression is merged by the rollup cron's sweep.
import { errorFields } from '../observability/logger';
import type { MessageHandler } from '../queues/registry';
import { ImpressionsMessage, RewardMessage } from './messages';
import type { SqlRunner } from './sql';

const INSERT_IMPRESSIONS = `
WITH input AS (
  SELECT d.decision_id, d.user_id, d.surface, d.policy, d.ts, coalesce(d.context, '{}'::jsonb) AS context, e.*
  FROM json_to_recordset($1::json) AS d(decision_id uuid, user_id uuid, surface text, policy text, ts timestamptz,
                                        context jsonb, events json)
  CROSS JOIN LATERAL json_to_recordset(d.events) AS e(candidate_id text, "position" int, score float8, p_exp float8,
    explored bool, n_remaining int, is_greedy bool, p_prefix float8, greedy_prefix bool, q_greedy float8, q_mean float8)
), ins AS (
  INSERT INTO public.learning_events (ts, user_id, surface, candidate_id, policy, p_exp, score, explored, reward, context,
    decision_id, "position", n_remaining, is_greedy, p_prefix, greedy_prefix, q_greedy, q_mean)
  SELECT i.ts, i.user_id, i.surface, i.candidate_id, i.policy, i.p_exp, i.score, coalesce(i.explored, false), pr.reward,
         i.context, i.decision_id, i."position", i.n_remaining, i.is_greedy, i.p_prefix, i.greedy_prefix, i.q_greedy, i.q_mean
  FROM input i
  LEFT JOIN public.learning_rewards pr
    ON pr.decision_id = i.decision_id AND pr.candidate_id = i.candidate_id AND pr.user_id = i.user_id
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

/** Insert the events of many decisions in one statement. Returns rows inserted and rewards merged. */
export async function insertImpressions(sql: SqlRunner, decisions: readonly DecisionLog[]) {
  if (decisions.length === 0) return { inserted: 0, merged: 0 };
  const [row] = await sql.query<{ inserted: number; merged: number }>(INSERT_IMPRESSIONS, [JSON.stringify(decisions)]);
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

/**
 * A batch handler that writes all messages at once; if that statement fails with more than one
 * message, each is tried alone so one bad message cannot hold the others back (it is retried,
 * and after max_retries the queue moves it to the dead-letter queue).
 */
function batchHandler<T>(
  schema: MessageHandler<T>['schema'],
  name: string,
  write: (sql: SqlRunner, bodies: T[]) => Promise<Record<string, number>>,
): MessageHandler<T> {
  return {
    schema,
    async handle(messages, c) {
      const db = c.db();
      try {
        const result = await write(db, messages.map((m) => m.body));
        for (const m of messages) m.ack();
        c.log.info(`${name}.written`, { messages: messages.length, ...result });
        return;
      } catch (err) {
        if (messages.length === 1) throw err;
        c.log.warn(`${name}.batch_failed`, { messages: messages.length, ...errorFields(err) });
      }
      let failed = 0;
      for (const m of messages) {
        try {
          await write(db, [m.body]);
          m.ack();
        } catch (err) {
          failed++;
          c.log.error(`${name}.message_failed`, { message_id: m.id, attempts: m.attempts, ...errorFields(err) });
        }
      }
      // The registry retries (with backoff) every message of this batch that was not acked.
      if (failed > 0) throw new Error(`${failed} of ${messages.length} ${name} messages failed`);
    },
  };
}

export const impressionsHandler = batchHandler(ImpressionsMessage, 'learning.impressions', insertImpressions);

export const rewardHandler = batchHandler(RewardMessage, 'learning.reward', recordRewards);
