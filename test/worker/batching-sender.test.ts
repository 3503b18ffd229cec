// The BatchingSender's logic (in workerd, for the Env/Queue types it is written against) against a fake queue that enforces Cloudflare's real limits (a message
// 128,000 bytes of UTF-8, a sendBatch 100 messages and 256,000 bytes) and fails on demand: sizes in
// bytes, failures retried with backoff until everything lands exactly once, a refused envelope
// never blocks the others, the retry budget and the re-arm from the next add, the bound and the
// drop count. The same sender against the real EVENTS queue: rank-batching.test.ts.
import { describe, expect, it } from 'vitest';
import { impressionsEnvelope } from '../../src/learning/impression-sender';
import type { ImpressionsMessage } from '../../src/learning/messages';
import type { Logger } from '../../src/observability/logger';
import { BatchingSender, type DropReason } from '../../src/queues/batching-sender';
import { MAX_MESSAGE_BODY_BYTES, QUEUE_LIMITS } from '../../src/queues/queue-limits';
import { utf8Bytes } from '../../src/util/utf8';

const env = {} as Env;

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLog(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, msg, fields });
  const log = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

/** A request's waitUntil: settle() waits for everything it was given, including what that adds. */
function requestContext() {
  const pending: Promise<unknown>[] = [];
  return {
    waitUntil: (p: Promise<unknown>) => {
      pending.push(p);
    },
    async settle() {
      for (let done = 0; done < pending.length; done = pending.length) await Promise.all(pending.slice(done));
      await Promise.all(pending);
    },
  };
}

const bytesOf = (body: unknown) => utf8Bytes(JSON.stringify(body));

/**
 * A queue with Cloudflare's limits. `failures` makes the next n calls throw (as an outage does);
 * `refuse` makes any message whose JSON contains the marker throw (a message the queue rejects).
 */
function fakeQueue(opts: { refuse?: string } = {}) {
  const messages: unknown[] = [];
  let failures = 0;
  const calls = { send: 0, sendBatch: 0 };
  const check = (body: unknown) => {
    const n = bytesOf(body);
    if (n > QUEUE_LIMITS.messageBytes) throw new Error(`message length of ${n} bytes exceeds limit`);
    if (opts.refuse && JSON.stringify(body).includes(opts.refuse)) throw new Error('refused');
    return n;
  };
  const outage = () => {
    if (failures > 0) {
      failures--;
      throw new Error('Queue send failed: internal error');
    }
  };
  const binding = {
    async send(body: unknown) {
      calls.send++;
      outage();
      check(body);
      messages.push(body);
    },
    async sendBatch(batch: { body: unknown }[]) {
      calls.sendBatch++;
      outage();
      if (batch.length > QUEUE_LIMITS.batchMessages) throw new Error('too many messages in batch');
      const total = batch.reduce((s, m) => s + check(m.body) + 100, 0);
      if (total > QUEUE_LIMITS.batchBytes) throw new Error(`batch size of ${total} bytes exceeds limit`);
      messages.push(...batch.map((m) => m.body));
    },
  } as unknown as Queue;
  return {
    binding,
    messages,
    calls,
    failNext: (n: number) => {
      failures = n;
    },
    items: () => messages.flatMap((m) => (m as { items: { n: number }[] }).items.map((i) => i.n)),
  };
}

type TestItem = { n: number; text: string };

function sender(
  q: ReturnType<typeof fakeQueue>,
  o: { delayMs?: number; maxBufferedBytes?: number; maxBufferedItems?: number; budgetMs?: number; maxMessageBytes?: number } = {},
) {
  const drops: { count: number; reason: DropReason }[] = [];
  const s = new BatchingSender<TestItem>({
    name: 'test',
    envelope: (items) => ({ type: 'test.batch', items }),
    maxMessageBytes: o.maxMessageBytes,
    maxBufferedBytes: o.maxBufferedBytes ?? 10_000_000,
    maxBufferedItems: o.maxBufferedItems,
    delayMs: () => o.delayMs ?? 0,
    queue: () => q.binding,
    retry: { baseMs: 5, capMs: 20, budgetMs: o.budgetMs ?? 5_000, maxRefusals: 3 },
    onDrop: (count, reason) => drops.push({ count, reason }),
  });
  return { s, drops };
}

const cjk = (n: number, units = 128) => ({ n, text: String.fromCodePoint(0x4e00 + (n % 20_000)).repeat(units) });

describe('BatchingSender sizes in UTF-8 bytes against the queue limits', () => {
  it('ships a window of multi-byte items in envelopes and batches the real queue accepts', async () => {
    const q = fakeQueue();
    const { s, drops } = sender(q, { delayMs: 20 });
    const ctx = requestContext();
    const log = recordingLog();
    // 2,000 items of 128 CJK characters: 128 string units but ~400 bytes each, ~800 KB in all.
    for (let i = 0; i < 2_000; i++) expect(s.add(cjk(i), env, ctx.waitUntil, log)).toBe(true);
    await ctx.settle();
    expect(drops).toEqual([]);
    expect(q.items().sort((a, b) => a - b)).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    for (const m of q.messages) expect(bytesOf(m)).toBeLessThanOrEqual(MAX_MESSAGE_BODY_BYTES);
    // Full envelopes: a message per ~127 KB, not one per window or per add.
    const total = Array.from({ length: 2_000 }, (_, i) => bytesOf(cjk(i)) + 1).reduce((a, b) => a + b, 0);
    expect(q.messages.length).toBe(Math.ceil(total / (MAX_MESSAGE_BODY_BYTES - 500)));
    expect(log.lines.filter((l) => l.level !== 'debug')).toEqual([]);
  });

  it('packs exactly: an envelope of n items weighs what the arithmetic says, up to the byte', async () => {
    const q = fakeQueue();
    const { s } = sender(q, { delayMs: 20, maxMessageBytes: 5_000 });
    const ctx = requestContext();
    const mixed = ['a', 'é', '中', '😀', '\u0001', '"', '\\', '\ud800'];
    for (let i = 0; i < 200; i++) s.add({ n: i, text: mixed[i % mixed.length]!.repeat(1 + (i % 37)) }, env, ctx.waitUntil, recordingLog());
    await ctx.settle();
    expect(q.items()).toHaveLength(200);
    const sizes = q.messages.map(bytesOf);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5_000);
    expect(Math.max(...sizes)).toBeGreaterThan(4_500); // filled, not split early
  });

  it('refuses (and counts) an item that could never fit one message', () => {
    const q = fakeQueue();
    const { s, drops } = sender(q, { maxMessageBytes: 1_000 });
    const log = recordingLog();
    expect(s.add({ n: 1, text: '中'.repeat(400) }, env, () => {}, log)).toBe(false);
    expect(drops).toEqual([{ count: 1, reason: 'oversize' }]);
    expect(log.lines.map((l) => l.msg)).toEqual(['test.dropped']);
  });
});

describe('BatchingSender under send failures', () => {
  it('retries a failed send with backoff inside the same waitUntil: every item lands exactly once', async () => {
    for (const [failures, delayMs] of [
      [1, 10],
      [3, 10],
      [6, 10],
      [1, 0],
      [4, 0],
    ] as const) {
      const q = fakeQueue();
      const { s, drops } = sender(q, { delayMs });
      q.failNext(failures);
      const ctx = requestContext();
      const log = recordingLog();
      for (let i = 0; i < 600; i++) s.add(cjk(i), env, ctx.waitUntil, log);
      await ctx.settle();
      expect(q.items().sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i));
      expect(drops).toEqual([]);
      expect(s.held).toEqual({ items: 0, bytes: 0 });
      // Every failed queue call is in the log; none of it reached the drop count.
      const failedCalls = log.lines.filter((l) => l.msg === 'test.send_failed').reduce((n, l) => n + Number(l.fields.failed_calls), 0);
      expect(failedCalls).toBe(failures);
    }
  });

  it('a refused envelope does not block the others; its innocent items go through alone, the bad one is dropped and counted', async () => {
    const q = fakeQueue({ refuse: 'POISON' });
    const { s, drops } = sender(q, { delayMs: 10, maxMessageBytes: 2_000 });
    const log = recordingLog();
    const requests: ReturnType<typeof requestContext>[] = [];
    // The bad item heads the first envelope; traffic goes on, a request every 15 ms.
    for (let r = 0; r < 12; r++) {
      const ctx = requestContext();
      requests.push(ctx);
      if (r === 0) s.add({ n: 0, text: 'POISON' }, env, ctx.waitUntil, log);
      for (let i = 1; i <= 10; i++) s.add({ n: r * 10 + i, text: 'x'.repeat(200) }, env, ctx.waitUntil, log);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await Promise.all(requests.map((r) => r.settle()));
    expect(q.items().sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(drops).toEqual([{ count: 1, reason: 'refused' }]);
    expect(log.lines.find((l) => l.msg === 'test.dropped')!.fields).toMatchObject({ reason: 'refused', count: 1 });
    expect(s.held).toEqual({ items: 0, bytes: 0 });
  });

  it('past its retry budget it stops and keeps the items; the next request re-arms the flush and ships them', async () => {
    const q = fakeQueue();
    const { s, drops } = sender(q, { delayMs: 0, budgetMs: 60 });
    q.failNext(1_000);
    const first = requestContext();
    const log = recordingLog();
    s.add({ n: 1, text: 'a' }, env, first.waitUntil, log);
    await first.settle();
    expect(q.messages).toEqual([]);
    expect(s.buffered).toBe(1);
    expect(log.lines.some((l) => l.msg === 'test.retry_deferred')).toBe(true);

    q.failNext(0);
    const second = requestContext();
    s.add({ n: 2, text: 'b' }, env, second.waitUntil, log);
    await second.settle();
    expect(q.items().sort()).toEqual([1, 2]);
    expect(s.buffered).toBe(0);
    expect(drops).toEqual([]);
  });

  it('during an outage requests do not each hit the queue: the retry loop paces the attempts', async () => {
    const q = fakeQueue();
    const { s } = sender(q, { delayMs: 0, budgetMs: 400 });
    q.failNext(1_000_000);
    const log = recordingLog();
    const requests: ReturnType<typeof requestContext>[] = [];
    for (let r = 0; r < 200; r++) {
      const ctx = requestContext();
      requests.push(ctx);
      s.add({ n: r, text: 'x' }, env, ctx.waitUntil, log);
      if (r % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const callsDuringOutage = q.calls.send + q.calls.sendBatch;
    expect(callsDuringOutage).toBeLessThan(20); // backoff 5–20 ms over ~50 ms, not 200 attempts
    q.failNext(0);
    await Promise.all(requests.map((r) => r.settle()));
    expect(q.items().sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('keeps its window while a retry loop is alive: adds from later requests join it', async () => {
    const q = fakeQueue();
    const { s } = sender(q, { delayMs: 30 });
    q.failNext(2);
    const a = requestContext();
    const b = requestContext();
    const log = recordingLog();
    s.add({ n: 1, text: 'a' }, env, a.waitUntil, log);
    s.add({ n: 2, text: 'b' }, env, b.waitUntil, log);
    await Promise.all([a.settle(), b.settle()]);
    expect(q.items().sort()).toEqual([1, 2]);
    expect(q.calls.send + q.calls.sendBatch).toBe(3); // one envelope: two failed attempts, one success
  });
});

describe('BatchingSender bound', () => {
  it('holds at most maxBufferedItems and maxBufferedBytes (in flight included); the rest is dropped and counted', async () => {
    const q = fakeQueue();
    q.failNext(1_000_000);
    const byItems = sender(q, { delayMs: 60_000, maxBufferedItems: 5 });
    const accepted = Array.from({ length: 8 }, (_, i) => byItems.s.add({ n: i, text: 'x' }, env, () => {}, recordingLog()));
    expect(accepted).toEqual([true, true, true, true, true, false, false, false]);
    expect(byItems.drops).toEqual([1, 2, 3].map(() => ({ count: 1, reason: 'buffer_full' })));
    expect(byItems.s.dropped).toBe(3);

    const byBytes = sender(q, { delayMs: 0, budgetMs: 30, maxBufferedBytes: 1_000 });
    const ctx = requestContext();
    const item = (n: number) => ({ n, text: '中'.repeat(100) }); // 321 bytes of JSON
    const results = [0, 1, 2, 3, 4].map((n) => byBytes.s.add(item(n), env, ctx.waitUntil, recordingLog()));
    // Sends fail; the three first stay held (963 bytes) while in flight and after: the rest is refused.
    expect(results).toEqual([true, true, true, false, false]);
    await ctx.settle();
    expect(byBytes.s.held.items).toBe(3);
    expect(byBytes.s.held.bytes).toBeLessThanOrEqual(1_000);
    expect(byBytes.drops.map((d) => d.reason)).toEqual(['buffer_full', 'buffer_full']);
  });
});

describe('the impressions envelope', () => {
  it('six decisions with CJK ids, one over-limit message under the old string-length sizing, all leave within the limits', async () => {
    const decisions = Array.from({ length: 6 }, (_, d) => cjkDecision(d, 76));
    // The old sizing: consecutive decisions while their JSON string lengths add up to 96,000.
    expect(decisions.reduce((n, m) => n + JSON.stringify(m).length, 0)).toBeLessThan(96_000);
    expect(bytesOf(impressionsEnvelope(decisions))).toBeGreaterThan(QUEUE_LIMITS.messageBytes + 80_000);

    const q = fakeQueue();
    const s = new BatchingSender<ImpressionsMessage>({
      name: 'learning.impressions',
      envelope: impressionsEnvelope,
      maxBufferedBytes: 8_000_000,
      delayMs: () => 20,
      queue: () => q.binding,
    });
    const ctx = requestContext();
    for (const d of decisions) expect(s.add(d, env, ctx.waitUntil, recordingLog())).toBe(true);
    await ctx.settle();
    const sent = q.messages.flatMap((m) => (m as { decisions: ImpressionsMessage[] }).decisions.map((d) => d.decision_id));
    expect(sent.sort()).toEqual(decisions.map((d) => d.decision_id).sort());
    expect(q.messages.length).toBe(2);
    for (const m of q.messages) expect(bytesOf(m)).toBeLessThanOrEqual(MAX_MESSAGE_BODY_BYTES);
  });
});

function cjkDecision(d: number, events: number): ImpressionsMessage {
  return {
    type: 'learning.impressions',
    v: 1,
    decision_id: crypto.randomUUID(),
    user_id: crypto.randomUUID(),
    surface: 'feed',
    policy: 'epsilon_greedy_v1',
    ts: new Date().toISOString(),
    context: { note: '中'.repeat(300) },
    events: Array.from({ length: events }, (_, k) => ({
      candidate_id: String.fromCodePoint(0x4e00 + d * 100 + k).repeat(128),
      position: k,
      score: 0.5,
      p_exp: 0.9,
      explored: false,
    })),
  };
}
