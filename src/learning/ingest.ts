// EVENTS consumer handlers for the learning messages (mapped to their message types in
// src/consumers.ts). Each batch is written with one statement (queries-ingest.ts); if that fails,
// each message is tried alone.
import type { Db } from '../db/sql';
import { errorFields, type Logger } from '../observability/logger';
import type { MessageHandler } from '../platform/message';
import { ImpressionsBatchMessage, ImpressionsMessage, RewardMessage } from './messages';
import { insertImpressions, recordRewards } from './queries-ingest';

/**
 * A batch handler that writes all messages at once; if that statement fails with more than one
 * message, each is tried alone so one bad message cannot hold the others back (it is retried,
 * and after max_retries the queue moves it to the dead-letter queue).
 */
function batchHandler<T>(
  schema: MessageHandler<T>['schema'],
  name: string,
  write: (db: Db, bodies: T[], log: Logger) => Promise<Record<string, number>>,
): MessageHandler<T> {
  return {
    schema,
    async handle(messages, c) {
      const db = c.db();
      try {
        const result = await write(
          db,
          messages.map((m) => m.body),
          c.log,
        );
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
          await write(db, [m.body], c.log);
          m.ack();
        } catch (err) {
          failed++;
          c.log.error(`${name}.message_failed`, { message_id: m.id, attempts: m.attempts, ...errorFields(err) });
        }
      }
      // The consumer runner retries (with backoff) every message of this batch that was not acked.
      if (failed > 0) throw new Error(`${failed} of ${messages.length} ${name} messages failed`);
    },
  };
}

/**
 * Rewards outside the range of their impression's surface are not applied: they are kept in
 * learning_rewards as rejected and counted in gauge_metrics_minute (learning.rewards_rejected) by
 * the statement itself; this is the log line of the same fact.
 */
function logRejected(log: Logger, rejected: number, sample?: unknown[]): void {
  if (rejected > 0) log.warn('learning.rewards_rejected', { rejected, ...(sample ? { sample } : {}) });
}

async function writeImpressions(db: Db, decisions: ImpressionsMessage[], log: Logger) {
  const r = await insertImpressions(db, decisions);
  logRejected(log, r.rejected);
  return r;
}

export const impressionsHandler = batchHandler(ImpressionsMessage, 'learning.impressions', writeImpressions);

export const impressionsBatchHandler = batchHandler(ImpressionsBatchMessage, 'learning.impressions.batch', (db, bodies, log) =>
  writeImpressions(
    db,
    bodies.flatMap((b) => b.decisions),
    log,
  ),
);

export const rewardHandler = batchHandler(RewardMessage, 'learning.reward', async (db, bodies, log) => {
  const { rejected_sample, ...counts } = await recordRewards(db, bodies);
  logRejected(log, counts.rejected, rejected_sample);
  return counts;
});
