// Retention runs: call one of the bounded delete functions (gc_learning_events(),
// gc_intent_signals(), gc_queue_done(), gc_metrics(), gc_job_runs(), gc_erasure_tombstones()) repeatedly
// with the batch size from retention_policies, so no statement holds locks for long, within a time budget
// (a cron invocation has limited wall time). The nightly jobs of each feature are built on it.
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { retentionPolicies } from './schema';
import type { Db } from './sql';
import { col, queryOne } from './sql';

const TIME_BUDGET_MS = 20_000;
const DEFAULT_BATCH = 5000;

export const GC_FUNCTIONS = [
  'gc_learning_events',
  'gc_intent_signals',
  'gc_queue_done',
  'gc_metrics',
  'gc_job_runs',
  'gc_erasure_tombstones',
] as const;
export type GcFunction = (typeof GC_FUNCTIONS)[number];

export async function gcInBatches(db: Db, table: string, fn: GcFunction): Promise<{ deleted: number; batches: number }> {
  const [policy] = await db
    .select({ batchSize: retentionPolicies.batchSize })
    .from(retentionPolicies)
    .where(eq(retentionPolicies.tableName, table));
  const batchSize = policy?.batchSize ?? DEFAULT_BATCH;
  const started = Date.now();
  let deleted = 0;
  let batches = 0;
  while (Date.now() - started < TIME_BUDGET_MS) {
    // fn is one of GC_FUNCTIONS (a closed list), never caller input.
    const { n } = await queryOne(db, fn, z.object({ n: col.number }), sql`SELECT public.${sql.raw(fn)}(${batchSize}::int) AS n`);
    deleted += n;
    batches++;
    if (n < batchSize) break;
  }
  return { deleted, batches };
}
