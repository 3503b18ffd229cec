// SQLite persistence of one RateLimiter object: ONE row per bucket (route class), whatever the
// limit or the traffic — the slot counts of its window (at most ~62 pairs, JSON) and the claim:
// how many admissions the object may make after this row was written before it must write again.
//
// The claim is what makes write-behind safe. Admissions are counted in memory and persisted only
// when a claim runs out (at most once a second per object); a restarted object cannot know what its
// predecessor admitted since the last write, but it knows it was at most the claim, so it counts
// the whole claim as admitted (see rate-limiter.ts, `load`).
import { z } from 'zod';
import type { WriteStats } from './limiter-api';
import type { SlotCounts } from './window';

export interface StoredBucket {
  bucket: string;
  windowMs: number;
  counts: SlotCounts;
  claim: number;
}

const Row = z.object({ bucket: z.string(), window_ms: z.number().int().positive(), counts: z.string(), claim: z.number().int().min(0) });
const Counts = z.array(z.tuple([z.number().int(), z.number().int().min(0)]));

export class LimiterStore {
  private ready = false;
  readonly stats: WriteStats = { writes: 0, rowsWritten: 0 };

  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
  }

  /** The table is created on first write (and again after the idle cleanup deleted everything). */
  private ensure(): void {
    if (this.ready) return;
    // WITHOUT ROWID: the key is the table, so an upsert writes one row (no separate key index).
    const cursor = this.sql.exec(`CREATE TABLE IF NOT EXISTS limiter_buckets (
      bucket TEXT PRIMARY KEY, window_ms INTEGER NOT NULL, counts TEXT NOT NULL, claim INTEGER NOT NULL) WITHOUT ROWID`);
    this.stats.rowsWritten += cursor.rowsWritten;
    this.ready = true;
  }

  /** Every stored bucket; rows that do not parse are skipped (and overwritten by the next write). */
  loadAll(): StoredBucket[] {
    const exists = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'limiter_buckets'").toArray();
    if (exists.length === 0) return [];
    this.ready = true;
    const out: StoredBucket[] = [];
    for (const raw of this.sql.exec('SELECT bucket, window_ms, counts, claim FROM limiter_buckets').toArray()) {
      const row = Row.safeParse(raw);
      if (!row.success) continue;
      let counts: SlotCounts;
      try {
        const parsed = Counts.safeParse(JSON.parse(row.data.counts));
        if (!parsed.success) continue;
        counts = parsed.data;
      } catch {
        continue;
      }
      out.push({ bucket: row.data.bucket, windowMs: row.data.window_ms, counts, claim: row.data.claim });
    }
    return out;
  }

  /** One write: upsert these buckets in one transaction (synchronous; the output gate holds replies until it is durable). */
  save(buckets: StoredBucket[]): void {
    if (buckets.length === 0) return;
    this.ensure();
    this.stats.writes++;
    this.storage.transactionSync(() => this.upsert(buckets));
  }

  private upsert(buckets: StoredBucket[]): void {
    for (const b of buckets) {
      const cursor = this.sql.exec(
        `INSERT INTO limiter_buckets (bucket, window_ms, counts, claim) VALUES (?, ?, ?, ?)
         ON CONFLICT (bucket) DO UPDATE SET window_ms = excluded.window_ms, counts = excluded.counts, claim = excluded.claim`,
        b.bucket,
        b.windowMs,
        JSON.stringify(b.counts),
        b.claim,
      );
      this.stats.rowsWritten += cursor.rowsWritten;
    }
  }

  remove(bucket: string): void {
    if (!this.ready) return;
    const cursor = this.sql.exec('DELETE FROM limiter_buckets WHERE bucket = ?', bucket);
    this.stats.rowsWritten += cursor.rowsWritten;
  }

  /** After storage.deleteAll(): the table is gone. */
  forget(): void {
    this.ready = false;
  }
}
