// Nightly retention: delete rows past the window in retention_policies, in bounded batches so no
// statement holds locks for long, within a time budget (a cron invocation has limited wall time).
import type { Job, JobContext } from './index';

const TIME_BUDGET_MS = 20_000;

export async function gcInBatches(c: JobContext, table: string, fn: string): Promise<{ deleted: number; batches: number }> {
  const db = c.db();
  const [policy] = await db.query<{ batch_size: number }>(
    'SELECT batch_size FROM public.retention_policies WHERE table_name = $1',
    [table],
  );
  const batchSize = policy?.batch_size ?? 5000;
  const started = Date.now();
  let deleted = 0;
  let batches = 0;
  while (Date.now() - started < TIME_BUDGET_MS) {
    const [row] = await db.query<{ n: string }>(`SELECT public.${fn}($1) AS n`, [batchSize]);
    const n = Number(row?.n ?? 0);
    deleted += n;
    batches++;
    if (n < batchSize) break;
  }
  return { deleted, batches };
}

export const gcLearningEvents: Job = {
  name: 'gc-learning-events',
  pausable: true,
  run: (c) => gcInBatches(c, 'learning_events', 'gc_learning_events'),
};

export const gcIntentSignals: Job = {
  name: 'gc-intent-signals',
  pausable: true,
  run: (c) => gcInBatches(c, 'intent_signals', 'gc_intent_signals'),
};

/** Finished discovery/outbox jobs past retention; the DLQ (status error) is left to operators. */
export const gcQueueDone: Job = {
  name: 'gc-queue-done',
  pausable: true,
  run: (c) => gcInBatches(c, 'marketplace_discovery_queue', 'gc_queue_done'),
};
