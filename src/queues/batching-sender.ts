// Buffers message bodies in isolate memory and ships them as few queue messages as possible:
// everything added within one window (delayMs) leaves in envelopes sized in UTF-8 bytes against
// the queue's real limits (queue-limits.ts), several envelopes per sendBatch.
//
// Why: Queues meter and throttle per message (a queue takes ~5,000 messages/s), and each consumer
// batch costs a database connection and a statement. One message per request would cap a global
// API at the queue's message rate and cost a connection per ~100 requests; one message per isolate
// window carries hundreds of requests' events.
//
// Guarantees (what the tests hold it to):
// - Nothing too big is ever sent: an envelope is at most maxMessageBytes of JSON, a sendBatch at
//   most 100 messages and 256 KB. An item that could never fit alone is refused at add() and
//   counted (callers make that impossible by their input bounds, see learning/messages.ts).
// - One bad envelope never blocks the others: every envelope of a flush is tried; when a batch
//   call fails its envelopes are tried one by one, and an envelope refused while others were
//   accepted has its items sent alone from then on (one refused maxRefusals times is dropped).
// - A failed send is retried with backoff (base doubling to cap, with jitter) inside the waitUntil
//   of the request that armed the flush, within budgetMs of it (the runtime allows 30 s after the
//   response). Past that budget the items stay buffered and the next add() re-arms the flush in
//   its own request's waitUntil. What an isolate still holds when it is evicted after its last
//   request is lost with it; the log line `<name>.retry_deferred` says how much was at stake.
// - The buffer is bounded (maxBufferedBytes and maxBufferedItems, in flight included): past the
//   bound add() refuses the item, and every refused or dropped item goes to onDrop (a metric).
// - Delivery is at least once: a send that failed after the queue took it is sent again, so the
//   consumer's writes must be idempotent. Envelopes may arrive in any order.

import { errorFields, type Logger } from '../observability/logger';
import { jsonBytes } from '../util/utf8';
import { envelopeBytes, MAX_MESSAGE_BODY_BYTES, pack } from './queue-limits';
import { type Outgoing, sendEnvelopes } from './send-envelopes';

export { pack };

export type DropReason = 'buffer_full' | 'oversize' | 'refused';
type WaitUntil = (p: Promise<unknown>) => void;

export interface RetryPolicy {
  /** Wait after the first failed flush; doubles per consecutive failure up to capMs. */
  baseMs: number;
  capMs: number;
  /** How long after arming a flush loop may keep retrying (the arming request keeps the isolate alive). */
  budgetMs: number;
  /** Refusals of an item's envelope while other envelopes were accepted, before the item is dropped. */
  maxRefusals: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, capMs: 8_000, budgetMs: 25_000, maxRefusals: 8 };

export interface BatchingSenderOptions<T> {
  /** Log prefix, e.g. 'learning.impressions'. */
  name: string;
  /** The queue message carrying a group of items; its only variable part must be the items array. */
  envelope: (items: T[]) => unknown;
  /** Largest envelope, in UTF-8 bytes of its JSON (default: the queue's limit less a reserve). */
  maxMessageBytes?: number;
  /** Largest total JSON size held in memory, waiting or in flight. */
  maxBufferedBytes: number;
  /** Most items held in memory, waiting or in flight (default 10,000). */
  maxBufferedItems?: number;
  /** The window; 0 sends at once. */
  delayMs: (env: Env) => number;
  queue: (env: Env) => Queue;
  retry?: Partial<RetryPolicy>;
  /** Items refused or dropped (counted in a metric by the caller). */
  onDrop?: (count: number, reason: DropReason, env: Env, waitUntil: WaitUntil, log: Logger) => void;
}

interface Item<T> {
  body: T;
  bytes: number;
  refusals: number;
  /** Sent in an envelope of its own (its last envelope was refused while others were accepted). */
  alone: boolean;
}

interface Envelope<T> extends Outgoing {
  items: Item<T>[];
}

/** One flush loop: armed by a request, alive until its deadline (that request's waitUntil budget). */
interface Loop {
  deadline: number;
}

export class BatchingSender<T> {
  private queued: Item<T>[] = [];
  private queuedBytes = 0;
  private heldBytes = 0;
  private heldItems = 0;
  private loop: Loop | null = null;
  /** The last flush had failures: new items wait for the retry loop's backoff. */
  private backingOff = false;
  private emptyBytes: number | undefined;
  private readonly retry: RetryPolicy;
  private readonly maxMessageBytes: number;
  /** Items refused or dropped since the isolate started. */
  dropped = 0;

  constructor(private readonly o: BatchingSenderOptions<T>) {
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.maxMessageBytes = o.maxMessageBytes ?? MAX_MESSAGE_BODY_BYTES;
  }

  /** Items waiting to be sent (not yet handed to the queue). */
  get buffered(): number {
    return this.queued.length;
  }

  /** Items in memory, waiting or in flight (what the bound counts). */
  get held(): { items: number; bytes: number } {
    return { items: this.heldItems, bytes: this.heldBytes };
  }

  private empty(): number {
    this.emptyBytes ??= jsonBytes(this.o.envelope([]));
    return this.emptyBytes;
  }

  /** Buffer one item and make sure a flush is on its way; false if it was refused (and counted). */
  add(body: T, env: Env, waitUntil: WaitUntil, log: Logger): boolean {
    const bytes = jsonBytes(body);
    if (envelopeBytes(this.empty(), 1, bytes) > this.maxMessageBytes) {
      this.drop(1, 'oversize', env, waitUntil, log, { bytes });
      return false;
    }
    if (this.heldBytes + bytes > this.o.maxBufferedBytes || this.heldItems + 1 > (this.o.maxBufferedItems ?? 10_000)) {
      this.drop(1, 'buffer_full', env, waitUntil, log, { held_items: this.heldItems, held_bytes: this.heldBytes });
      return false;
    }
    this.queued.push({ body, bytes, refusals: 0, alone: false });
    this.queuedBytes += bytes;
    this.heldBytes += bytes;
    this.heldItems += 1;

    const window = Math.max(0, this.o.delayMs(env));
    if (this.backingOff) {
      // Sends are failing: the retry loop's backoff decides when to try again, not each request.
      // Without a live loop (its budget spent) this request re-arms one in its own waitUntil.
      if (!this.live(Date.now())) this.startLoop(window, env, waitUntil, log);
    } else if (window === 0) {
      // Sent now, inside this request's waitUntil (which also carries any retries it needs).
      waitUntil(this.flushNow(env, waitUntil, log, false));
    } else {
      if (!this.live(Date.now() + window)) this.startLoop(window, env, waitUntil, log);
      // A full envelope leaves at once; the rest of the window keeps filling the next one.
      if (envelopeBytes(this.empty(), this.queued.length, this.queuedBytes) >= this.maxMessageBytes) {
        waitUntil(this.flushNow(env, waitUntil, log, true));
      }
    }
    return true;
  }

  private live(until: number): boolean {
    return this.loop !== null && until <= this.loop.deadline;
  }

  /** A loop with the budget of the request arming it now; it supersedes an older loop, which exits at its next wake. */
  private newLoop(): Loop {
    const loop: Loop = { deadline: Date.now() + this.retry.budgetMs };
    this.loop = loop;
    return loop;
  }

  private startLoop(firstWaitMs: number, env: Env, waitUntil: WaitUntil, log: Logger): void {
    waitUntil(this.run(this.newLoop(), firstWaitMs, 0, env, waitUntil, log));
  }

  private async flushNow(env: Env, waitUntil: WaitUntil, log: Logger, fullOnly: boolean): Promise<void> {
    const r = await this.flushOnce(env, waitUntil, log, fullOnly);
    if (r.failed === 0 || this.queued.length === 0) return;
    // Retried inside this request's waitUntil, unless a live loop will pick the items up anyway.
    const wait = this.backoff(1);
    if (!this.live(Date.now() + wait)) await this.run(this.newLoop(), wait, 1, env, waitUntil, log);
  }

  private async run(loop: Loop, firstWaitMs: number, failures: number, env: Env, waitUntil: WaitUntil, log: Logger): Promise<void> {
    let wait = firstWaitMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.loop !== loop) return;
      const r = await this.flushOnce(env, waitUntil, log);
      if (this.queued.length === 0) break;
      failures = r.failed > 0 ? failures + 1 : 0;
      wait = failures > 0 ? this.backoff(failures) : Math.max(0, this.o.delayMs(env));
      if (Date.now() + wait > loop.deadline) {
        log.warn(`${this.o.name}.retry_deferred`, { buffered: this.queued.length, bytes: this.queuedBytes, failures });
        break;
      }
    }
    if (this.loop === loop) this.loop = null;
  }

  /** Exponential backoff with equal jitter: between half and all of base × 2^(failures-1), capped. */
  private backoff(failures: number): number {
    const d = Math.min(this.retry.capMs, this.retry.baseMs * 2 ** Math.max(0, failures - 1));
    return d / 2 + Math.random() * (d / 2);
  }

  /** One attempt at everything waiting (fullOnly: all but a last, partly filled envelope). */
  private async flushOnce(env: Env, waitUntil: WaitUntil, log: Logger, fullOnly = false): Promise<{ sent: number; failed: number }> {
    const empty = this.empty();
    const groups = pack(this.queued.splice(0), this.maxMessageBytes, empty);
    this.queuedBytes = 0;
    if (fullOnly && groups.length > 1) this.requeue(groups.pop()!);
    if (groups.length === 0) return { sent: 0, failed: 0 };
    const envelopes: Envelope<T>[] = groups.map((group) => ({
      items: group,
      body: this.o.envelope(group.map((i) => i.body)),
      bytes: envelopeBytes(
        empty,
        group.length,
        group.reduce((s, i) => s + i.bytes, 0),
      ),
    }));
    const { accepted, refused, untried, failedCalls, lastError } = await sendEnvelopes(this.o.queue(env), envelopes);
    for (const e of accepted) this.release(e.items);
    const sent = accepted.reduce((n, e) => n + e.items.length, 0);
    this.backingOff = refused.length + untried.length > 0;
    if (!this.backingOff) {
      if (failedCalls > 0) {
        log.warn(`${this.o.name}.send_failed`, {
          envelopes: envelopes.length,
          accepted: accepted.length,
          failed_calls: failedCalls,
          unsent: 0,
          ...errorFields(lastError),
        });
      }
      return { sent, failed: 0 };
    }

    // Refused while others were accepted: the envelope itself is the problem, so its items travel
    // alone from now on (an innocent neighbour then goes through) and one refused too often is dropped.
    // Refused items wait at the tail, untried ones at the head: whatever was refused first cannot
    // keep blocking the rest, and the next flush has others to tell an outage from a bad envelope.
    const gone: Item<T>[] = [];
    const retry: Item<T>[] = [];
    for (const item of refused.flatMap((e) => e.items)) {
      if (accepted.length > 0) {
        item.refusals += 1;
        item.alone = true;
      }
      (item.refusals >= this.retry.maxRefusals ? gone : retry).push(item);
    }
    const back = untried.flatMap((e) => e.items);
    this.requeue(back);
    this.queued.push(...retry);
    this.queuedBytes += retry.reduce((s, i) => s + i.bytes, 0);
    if (gone.length > 0) {
      this.release(gone);
      this.drop(gone.length, 'refused', env, waitUntil, log, { refusals: this.retry.maxRefusals });
    }
    log.warn(`${this.o.name}.send_failed`, {
      envelopes: envelopes.length,
      accepted: accepted.length,
      failed_calls: failedCalls,
      refused: refused.length,
      untried: untried.length,
      unsent: back.length + retry.length,
      ...errorFields(lastError),
    });
    return { sent, failed: refused.length + untried.length };
  }

  /** Put items back at the head of the queue (before anything added meanwhile). */
  private requeue(items: Item<T>[]): void {
    this.queued.unshift(...items);
    this.queuedBytes += items.reduce((s, i) => s + i.bytes, 0);
  }

  private release(items: Item<T>[]): void {
    this.heldItems -= items.length;
    this.heldBytes -= items.reduce((s, i) => s + i.bytes, 0);
  }

  private drop(count: number, reason: DropReason, env: Env, waitUntil: WaitUntil, log: Logger, fields: Record<string, unknown>): void {
    this.dropped += count;
    log.error(`${this.o.name}.dropped`, { count, reason, dropped_total: this.dropped, ...fields });
    this.o.onDrop?.(count, reason, env, waitUntil, log);
  }
}
