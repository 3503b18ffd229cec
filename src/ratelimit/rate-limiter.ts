// RateLimiter Durable Object: one object per subject key (user id, the service role, or a client
// IP), SQLite-backed. Each route class is a bucket with a sliding-window LOG: a request is admitted
// iff fewer than `limit` requests were admitted in the last `windowSec` seconds, so no window of
// that length ever holds more than `limit` admissions (no burst at window edges, unlike fixed
// windows or token buckets).
//
// Why it cannot over-admit under concurrency: check() is synchronous — it reads, decides and
// records without awaiting anything — and a Durable Object runs one event at a time, so 200
// concurrent calls are 200 strictly ordered decisions. The SQL writes are synchronous too
// (SQLite in the object); the output gate holds each reply until its write is durable.
//
// Idle state costs nothing: an alarm prunes expired hits and, once every bucket is idle, deletes
// all of the object's storage.
import { DurableObject } from 'cloudflare:workers';

export interface LimitCheck {
  /** Bucket inside this subject, e.g. the route class. */
  bucket: string;
  limit: number;
  windowSec: number;
  /** Requests this call counts (default 1). 0 = peek without counting. */
  cost?: number;
}

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the oldest counted request leaves the window (quota starts coming back). */
  resetSec: number;
  /** On a denial: seconds until a request of this cost would be admitted. */
  retryAfterSec: number;
}

const ALARM_SLACK_MS = 1_000;

export class RateLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** bucket → admitted timestamps (ms, ascending) still inside the bucket's window. */
  private readonly hits = new Map<string, number[]>();
  private readonly windows = new Map<string, number>();
  private alarmAt: number | null = null;
  private schemaReady = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Tables are created on first use (and again after the alarm deleted everything). */
  private ensureSchema(): void {
    if (this.schemaReady) return;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, ts INTEGER NOT NULL);
                   CREATE INDEX IF NOT EXISTS hits_bucket_ts ON hits (bucket, ts);
                   CREATE TABLE IF NOT EXISTS buckets (bucket TEXT PRIMARY KEY, window_ms INTEGER NOT NULL)`);
    this.schemaReady = true;
  }

  private load(bucket: string, windowMs: number, now: number): number[] {
    this.ensureSchema();
    let list = this.hits.get(bucket);
    if (!list) {
      list = this.sql
        .exec<{ ts: number }>('SELECT ts FROM hits WHERE bucket = ? AND ts > ? ORDER BY ts', bucket, now - windowMs)
        .toArray()
        .map((r) => r.ts);
      this.hits.set(bucket, list);
    }
    if (this.windows.get(bucket) !== windowMs) {
      this.windows.set(bucket, windowMs);
      this.sql.exec(
        'INSERT INTO buckets (bucket, window_ms) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET window_ms = excluded.window_ms',
        bucket,
        windowMs,
      );
    }
    // Drop what left the window (memory only; the alarm deletes the rows).
    let expired = 0;
    while (expired < list.length && list[expired]! <= now - windowMs) expired++;
    if (expired > 0) list.splice(0, expired);
    return list;
  }

  /** Decide and record one request. Synchronous on purpose: see the header comment. */
  check(req: LimitCheck): LimitDecision {
    const limit = Math.max(0, Math.floor(req.limit));
    const windowMs = Math.max(1, Math.floor(req.windowSec * 1000));
    const cost = Math.max(0, Math.floor(req.cost ?? 1));
    const now = Date.now();
    const list = this.load(req.bucket, windowMs, now);
    const allowed = cost === 0 || list.length + cost <= limit;
    if (allowed && cost > 0) {
      for (let i = 0; i < cost; i++) {
        list.push(now);
        this.sql.exec('INSERT INTO hits (bucket, ts) VALUES (?, ?)', req.bucket, now);
      }
      this.scheduleCleanup(now + windowMs);
    }
    const remaining = Math.max(0, limit - list.length);
    const oldest = list[0];
    const resetMs = oldest === undefined ? windowMs : oldest + windowMs - now;
    // The request fits once enough of the oldest hits have expired: the (n - limit + cost)-th one.
    const blocking = list[list.length - limit + cost - 1];
    const retryMs = allowed ? 0 : blocking === undefined || cost > limit ? windowMs : blocking + windowMs - now;
    return {
      allowed,
      limit,
      remaining,
      resetSec: Math.max(0, Math.ceil(resetMs / 1000)),
      retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
    };
  }

  /** Current state of a bucket without counting anything (ops and tests). */
  peek(bucket: string, windowSec: number, limit: number): LimitDecision {
    return this.check({ bucket, windowSec, limit, cost: 0 });
  }

  /**
   * Erasure of the subject (src/privacy/erasure.ts): forget every hit and drop the object's whole
   * storage and alarm now, instead of when the alarm finds it idle.
   */
  async erase(): Promise<void> {
    this.hits.clear();
    this.windows.clear();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    this.schemaReady = false;
  }

  private scheduleCleanup(at: number): void {
    // One pending alarm is enough: when it fires it reschedules itself while anything is live.
    if (this.alarmAt !== null) return;
    this.alarmAt = at + ALARM_SLACK_MS;
    void this.ctx.storage.setAlarm(this.alarmAt);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.ensureSchema();
    const now = Date.now();
    let latestExpiry = 0;
    for (const { bucket, window_ms } of this.sql
      .exec<{ bucket: string; window_ms: number }>('SELECT bucket, window_ms FROM buckets')
      .toArray()) {
      this.sql.exec('DELETE FROM hits WHERE bucket = ? AND ts <= ?', bucket, now - window_ms);
      const newest = this.sql.exec<{ ts: number | null }>('SELECT max(ts) AS ts FROM hits WHERE bucket = ?', bucket).one().ts;
      if (newest === null) {
        this.sql.exec('DELETE FROM buckets WHERE bucket = ?', bucket);
        this.hits.delete(bucket);
        this.windows.delete(bucket);
      } else {
        latestExpiry = Math.max(latestExpiry, newest + window_ms);
        this.load(bucket, window_ms, now);
      }
    }
    if (latestExpiry === 0) {
      // Nothing live: drop every table and the object's storage, so an idle key costs nothing.
      this.hits.clear();
      this.windows.clear();
      await this.ctx.storage.deleteAll();
      this.schemaReady = false;
      return;
    }
    this.scheduleCleanup(latestExpiry);
  }
}
