// The unit of work: one HTTP request, one queue batch or one cron run. Every entry point opens it
// the same way (openUnit) and feature code takes it (or the few fields it needs) instead of a
// bespoke context object. It owns at most one database handle, created on first use and ended
// when the unit closes, so nothing module-global ever holds a connection.
import { createDb, type Db, type DbHandle, type DbOptions } from '../db/client';
import { createLogger, type LogFields, type Logger } from '../observability/logger';
import type { MetricsCollector } from '../observability/metrics';

export interface Unit {
  env: Env;
  /** This unit's id: the request id, or a fresh uuid per queue batch / cron invocation. */
  id: string;
  log: Logger;
  /** The unit's database handle, created on first call (the hot path never calls it). */
  db: () => Db;
  /** Keep work alive after the response / batch (ctx.waitUntil; awaited-and-ignored without a ctx). */
  waitUntil: (p: Promise<unknown>) => void;
  /** Latency histograms of named operations (the isolate's collector on real traffic). */
  metrics: MetricsCollector;
}

export interface OpenedUnit {
  unit: Unit;
  /** End the database handle if one was opened (never throws). */
  close(): Promise<void>;
}

const noMetrics: MetricsCollector = { observe() {} };

export function openUnit(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  opts: { id?: string; fields?: LogFields; metrics?: MetricsCollector; db?: DbOptions } = {},
): OpenedUnit {
  const id = opts.id ?? crypto.randomUUID();
  const log = createLogger({ request_id: id, ...opts.fields });
  let handle: DbHandle | undefined;
  const unit: Unit = {
    env,
    id,
    log,
    db: () => {
      handle ??= createDb(env, log, opts.db);
      return handle.db;
    },
    waitUntil,
    metrics: opts.metrics ?? noMetrics,
  };
  return {
    unit,
    async close() {
      if (handle) await handle.end();
    },
  };
}

/** The same unit with more log fields (a job's name, a queue message type). */
export function withLogFields<U extends Unit>(unit: U, fields: LogFields): U {
  return { ...unit, log: unit.log.child(fields) };
}
