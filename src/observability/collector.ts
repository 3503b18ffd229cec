// The real MetricsCollector: observations are aggregated in isolate memory per (operation, minute)
// into log-scale histograms and shipped as `metrics.histogram` messages on the EVENTS queue.
//
// Why aggregate per isolate and time slice instead of one message per request: a message per
// request costs a queue write per request (as many messages as requests, and Queues bill and
// throttle per message), while an isolate serving 1 000 requests in a 10 s slice sends ONE message
// of a few hundred bytes per operation. Storage and queue traffic grow with isolates × slices ×
// operations, not with requests.
//
// How nothing is lost when an isolate goes idle: the first observation of a slice arms a flush
// inside that request's ctx.waitUntil (a timer of METRICS_FLUSH_MS, default 10 s, below the 30 s
// waitUntil allowance), so the runtime keeps the isolate until the slice is shipped. Later requests
// of the same slice only add to the buffer. A buffer that grows past MAX_SERIES ships at once.
// What can still be lost: a slice of an isolate that crashes (out of memory, a deploy) — metrics,
// unlike learning events, tolerate that; a failed queue send is merged back and retried once.
import { getConfig } from '../config';
import { FlushTimer } from '../util/flush-timer';
import { bucketIndex, trimHistogram } from './histogram';
import type { Logger } from './logger';
import { errorFields } from './logger';
import type { MetricsCollector } from './metrics';

/** One operation's minute in a message: requests, 5xx-or-equivalent, latency sum (ms), histogram. */
export interface SeriesPayload {
  op: string;
  /** ISO timestamp of the minute (seconds and ms zero). */
  minute: string;
  n: number;
  err: number;
  ms: number;
  b: number[];
}

export interface HistogramMessage {
  type: 'metrics.histogram';
  /** Unique per message; the consumer's ledger key (redelivery adds nothing). */
  id: string;
  series: SeriesPayload[];
}

export const DEFAULT_FLUSH_MS = 10_000;
/** Ship at once past this many (operation, minute) series: keeps a message far below 128 KB. */
export const MAX_SERIES = 100;
/** Never hold more than this in memory (a queue outage must not grow the isolate without bound). */
const MAX_BUFFERED_SERIES = 2_000;
const MAX_OPERATION_LENGTH = 200;

interface Series {
  op: string;
  minuteMs: number;
  n: number;
  err: number;
  ms: number;
  b: number[];
}

/** Pure aggregation: observations in, per-(operation, minute) histograms out. */
export class HistogramBuffer {
  private series = new Map<string, Series>();
  private observed = 0;
  dropped = 0;

  get size(): number {
    return this.series.size;
  }

  get observations(): number {
    return this.observed;
  }

  observe(op: string, durationMs: number, failed: boolean, atMs: number): void {
    const name = op.length > MAX_OPERATION_LENGTH ? op.slice(0, MAX_OPERATION_LENGTH) : op;
    const minuteMs = Math.floor(atMs / 60_000) * 60_000;
    const key = `${name}\u0000${minuteMs}`;
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_BUFFERED_SERIES) {
        this.dropped++;
        return;
      }
      s = { op: name, minuteMs, n: 0, err: 0, ms: 0, b: [] };
      this.series.set(key, s);
    }
    const ms = Number.isFinite(durationMs) && durationMs > 0 ? durationMs : 0;
    const i = bucketIndex(ms);
    while (s.b.length <= i) s.b.push(0);
    s.b[i]! += 1;
    s.n += 1;
    s.ms += ms;
    if (failed) s.err += 1;
    this.observed++;
  }

  /** Merge shipped-but-unsent series back (after a failed send). */
  restore(series: SeriesPayload[]): void {
    for (const p of series) {
      const minuteMs = Date.parse(p.minute);
      const key = `${p.op}\u0000${minuteMs}`;
      const s = this.series.get(key);
      if (!s) {
        if (this.series.size >= MAX_BUFFERED_SERIES) {
          this.dropped += p.n;
          continue;
        }
        this.series.set(key, { op: p.op, minuteMs, n: p.n, err: p.err, ms: p.ms, b: [...p.b] });
        continue;
      }
      s.n += p.n;
      s.err += p.err;
      s.ms += p.ms;
      p.b.forEach((c, i) => {
        while (s.b.length <= i) s.b.push(0);
        s.b[i]! += c;
      });
    }
  }

  /** Take everything buffered so far and start empty. */
  drain(): SeriesPayload[] {
    const out = [...this.series.values()].map((s) => ({
      op: s.op,
      minute: new Date(s.minuteMs).toISOString(),
      n: s.n,
      err: s.err,
      ms: Math.round(s.ms * 1000) / 1000,
      b: trimHistogram(s.b),
    }));
    this.series.clear();
    this.observed = 0;
    return out;
  }
}

/** Split series into messages of at most MAX_SERIES each, every one with a fresh id. */
export function toMessages(series: SeriesPayload[], maxSeries = MAX_SERIES): HistogramMessage[] {
  const out: HistogramMessage[] = [];
  for (let i = 0; i < series.length; i += maxSeries) {
    out.push({ type: 'metrics.histogram', id: crypto.randomUUID(), series: series.slice(i, i + maxSeries) });
  }
  return out;
}

function flushDelayMs(env: Env): number {
  try {
    return getConfig(env).METRICS_FLUSH_MS ?? DEFAULT_FLUSH_MS;
  } catch {
    return DEFAULT_FLUSH_MS; // a broken config must not break request timing
  }
}

/** The isolate's buffer and its flush schedule. One per isolate (module scope, request-independent). */
export class MetricsShipper {
  readonly buffer = new HistogramBuffer();
  private readonly timer = new FlushTimer();

  readonly collector: MetricsCollector = {
    observe: (operation, durationMs, failed) => this.buffer.observe(operation, durationMs, failed, Date.now()),
  };

  /**
   * Call at the end of every request / batch / cron run with that unit's waitUntil: arms one
   * delayed flush per slice (or flushes now when the buffer is large or the delay is 0).
   */
  schedule(env: Env, waitUntil: (p: Promise<unknown>) => void, log: Logger): void {
    if (this.buffer.size === 0) return;
    const delay = flushDelayMs(env);
    if (delay <= 0 || this.buffer.size >= MAX_SERIES) {
      waitUntil(this.flush(env, log));
      return;
    }
    this.timer.arm(delay, waitUntil, () => this.flush(env, log));
  }

  /** Send what is buffered now. A failed send is merged back once and retried by the next flush. */
  async flush(env: Env, log: Logger): Promise<number> {
    const series = this.buffer.drain();
    if (series.length === 0) return 0;
    const messages = toMessages(series);
    try {
      await env.EVENTS.sendBatch(messages.map((body) => ({ body, contentType: 'json' as const })));
      return messages.length;
    } catch (err) {
      this.buffer.restore(series);
      log.warn('metrics.flush_failed', { series: series.length, ...errorFields(err) });
      return 0;
    }
  }
}

/** This isolate's shipper: the request middleware, queue consumers and crons all report here. */
export const isolateMetrics = new MetricsShipper();
