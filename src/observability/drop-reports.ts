// Counts of work an isolate had to drop (e.g. learning impressions its buffer could not hold),
// reported where the per-minute sampler can add up every isolate's count: KV, one key per
// (metric, minute, isolate) with the count in the key's metadata, so one list() reads them all.
//
// Why not the isolate's histogram collector: that ships on the EVENTS queue, and impressions are
// dropped precisely when sends to the EVENTS queue have been failing — the count would wait in
// the same failing path (and die with the isolate). KV is an independent store every isolate
// and the cron can reach. Why not Postgres: the rank isolates never open a database connection.
//
// A minute's key holds this isolate's running total for that minute (a rewrite, never an add:
// a retried write cannot double count). Writes are batched (at most one per REPORT_DELAY_MS per
// isolate: KV takes one write per second per key) and the keys expire after KEY_TTL_S.
import type { Logger } from './logger';
import { errorFields } from './logger';

/** The drop counters the sampler reads into gauge_metrics_minute (metric = gauge name). */
export const DROP_METRICS = ['learning.impressions_dropped'] as const;
export type DropMetric = (typeof DROP_METRICS)[number];

/** The gauge sums the reports of this many minutes (KV list results may lag writes by up to a minute). */
export const DROP_WINDOW_MINUTES = 10;

const PREFIX = 'ops:v1:dropped:';
const REPORT_DELAY_MS = 2_000;
const RETRY_DELAY_MS = 5_000;
const ATTEMPTS = 3;
const KEY_TTL_S = 1_800;
/** At most this many list pages (1,000 keys each) per read: a bound for the cron, logged if hit. */
const MAX_LIST_PAGES = 20;

/**
 * Where drop reports live: the FEATURES namespace, under their own `ops:v1:` prefix (nothing else
 * lists that namespace). Every isolate that serves /v1/rank already has it bound.
 */
export const dropReportsKv = (env: Env): KVNamespace => env.FEATURES;

interface ReportMeta {
  n: number;
  minute: number;
}

const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60_000;
const keyFor = (metric: string, minute: number, isolate: string) =>
  `${PREFIX}${metric}:${new Date(minute).toISOString().slice(0, 16)}Z:${isolate}`;

export class DropReporter {
  /** Minute start (ms) → this isolate's count in that minute, until written for good. */
  private readonly minutes = new Map<number, number>();
  private armed = false;
  private isolate: string | undefined;
  /** Dropped by this isolate since it started. */
  total = 0;

  constructor(
    readonly metric: DropMetric,
    private readonly o: { kv?: (env: Env) => KVNamespace; now?: () => number } = {},
  ) {}

  /** Count n dropped items now; the KV write follows inside waitUntil (a few seconds later, batched). */
  record(n: number, env: Env, waitUntil: (p: Promise<unknown>) => void, log: Logger): void {
    if (n <= 0) return;
    const minute = minuteOf(this.now());
    this.minutes.set(minute, (this.minutes.get(minute) ?? 0) + n);
    this.total += n;
    if (this.armed) return;
    this.armed = true;
    waitUntil(this.reportSoon(env, log));
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private async reportSoon(env: Env, log: Logger): Promise<void> {
    await new Promise((r) => setTimeout(r, REPORT_DELAY_MS));
    for (let attempt = 1; ; attempt++) {
      this.armed = false; // counts recorded from now on arm a write of their own
      if (await this.report(env, log)) return;
      if (attempt >= ATTEMPTS || this.armed) return; // kept in memory: the next record() writes them
      this.armed = true;
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
    }
  }

  /** Write every pending minute's total; true when all writes succeeded. */
  async report(env: Env, log: Logger): Promise<boolean> {
    this.isolate ??= crypto.randomUUID(); // not at module scope: workerd allows no randomness there
    const kv = (this.o.kv ?? dropReportsKv)(env);
    const current = minuteOf(this.now());
    let ok = true;
    for (const [minute, n] of [...this.minutes]) {
      if (minute < current - KEY_TTL_S * 1000) {
        this.minutes.delete(minute); // too old to matter to any window
        continue;
      }
      try {
        const metadata: ReportMeta = { n, minute };
        await kv.put(keyFor(this.metric, minute, this.isolate), '', { metadata, expirationTtl: KEY_TTL_S });
        // A past minute's total is final once written; the current one may still grow.
        if (minute < current && this.minutes.get(minute) === n) this.minutes.delete(minute);
      } catch (err) {
        ok = false;
        log.error('drops.report_failed', { metric: this.metric, minute: new Date(minute).toISOString(), n, ...errorFields(err) });
      }
    }
    return ok;
  }
}

export interface DropTotals {
  /** Items dropped in the window, all isolates. */
  dropped: number;
  /** (isolate, minute) reports that make it up. */
  reports: number;
  /** The listing stopped at MAX_LIST_PAGES: the figures are a lower bound. */
  truncated: boolean;
}

/** Sum every isolate's reports of `metric` for the minutes in (atMs − window, atMs]. */
export async function readDropTotals(
  kv: KVNamespace,
  metric: DropMetric,
  atMs: number,
  windowMinutes = DROP_WINDOW_MINUTES,
): Promise<DropTotals> {
  const to = minuteOf(atMs);
  const from = to - windowMinutes * 60_000;
  const totals: DropTotals = { dropped: 0, reports: 0, truncated: false };
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    if (page >= MAX_LIST_PAGES) {
      totals.truncated = true;
      break;
    }
    const res: KVNamespaceListResult<ReportMeta> = await kv.list<ReportMeta>({ prefix: `${PREFIX}${metric}:`, cursor });
    for (const k of res.keys) {
      const m = k.metadata;
      if (!m || !Number.isFinite(m.n) || !Number.isFinite(m.minute)) continue;
      if (m.minute <= from || m.minute > to) continue;
      totals.dropped += m.n;
      totals.reports += 1;
    }
    if (res.list_complete) break;
    cursor = res.cursor;
  }
  return totals;
}
