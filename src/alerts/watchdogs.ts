// What the dashboard's Watchdogs panel shows (issue 20): the telemetry-about-telemetry the seeded
// watchdog rules judge — metric freshness, each cron job's heartbeat (public.job_runs), the DLQ
// size and the rules that have been blind for their no_data_seconds — read with the rules' own
// metric queries, so the panel and the alerts never disagree.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, nullable, queryRows } from '../db/sql';
import { measure } from './metrics';
import type { Measurement } from './state';

const Heartbeat = z.object({ job: col.text, last_ok: nullable.date, age_sec: col.number, allowed_sec: col.number });
export type Heartbeat = z.output<typeof Heartbeat>;

export interface Watchdogs {
  freshness: Measurement[];
  heartbeats: Heartbeat[];
  dlq: Measurement[];
  /** Rules watched for blindness that have had no data for their no_data_seconds. */
  blind: string[];
}

export async function watchdogs(db: Db, now: Date): Promise<Watchdogs> {
  const [freshness, heartbeats, dlq, noData] = await Promise.all([
    measure(db, 'metrics.freshness_sec', now),
    queryRows(
      db,
      'alerts.heartbeats',
      Heartbeat,
      sql`SELECT job, last_ok, age_sec, allowed_sec FROM public.cron_heartbeats_at(${now.toISOString()}::timestamptz) ORDER BY job`,
    ),
    measure(db, 'dlq.size', now),
    measure(db, 'alerts.no_data', now),
  ]);
  return { freshness, heartbeats, dlq, blind: noData.filter((m) => m.value === 1).map((m) => m.subject) };
}
