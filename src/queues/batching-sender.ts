// Buffers message bodies in isolate memory and ships them as few queue messages as possible:
// everything added within one window (delayMs) leaves in envelopes of at most maxMessageBytes.
//
// Why: Queues meter and throttle per message (a queue takes ~5,000 messages/s), and each consumer
// batch costs a database connection and a statement. One message per request would cap a global
// API at the queue's message rate and cost a connection per ~100 requests; one message per isolate
// window carries hundreds of requests' events.
// Durability: the window's flush runs inside the first request's waitUntil (see FlushTimer), so an
// idle isolate still ships it. A failed send puts the items back for the next flush. The buffer is
// bounded (maxBufferedBytes): past it, items are dropped and counted with an error log, which is no
// worse than the per-request send it replaces failing during a queue outage.

import { errorFields, type Logger } from '../observability/logger';
import { FlushTimer } from '../util/flush-timer';

export interface BatchingSenderOptions<T> {
  /** Log prefix, e.g. 'learning.impressions'. */
  name: string;
  /** The queue message carrying a group of items. */
  envelope: (items: T[]) => unknown;
  /** Largest JSON size of one envelope's items (Queues accept messages up to 128 KB). */
  maxMessageBytes: number;
  /** Largest JSON size held in memory while sends fail. */
  maxBufferedBytes: number;
  /** The window; 0 sends at once (one envelope per add). */
  delayMs: (env: Env) => number;
  queue: (env: Env) => Queue;
}

interface Item<T> {
  body: T;
  bytes: number;
}

export class BatchingSender<T> {
  private items: Item<T>[] = [];
  private bytes = 0;
  private readonly timer = new FlushTimer();
  /** Items dropped because the buffer was full (since the isolate started). */
  dropped = 0;

  constructor(private readonly o: BatchingSenderOptions<T>) {}

  get buffered(): number {
    return this.items.length;
  }

  /** Buffer one item and make sure a flush is on its way; false if the buffer was full. */
  add(body: T, env: Env, waitUntil: (p: Promise<unknown>) => void, log: Logger): boolean {
    const bytes = JSON.stringify(body).length;
    if (this.bytes + bytes > this.o.maxBufferedBytes) {
      this.dropped++;
      log.error(`${this.o.name}.buffer_full`, { dropped: this.dropped, buffered: this.items.length });
      return false;
    }
    this.items.push({ body, bytes });
    this.bytes += bytes;
    const delay = this.o.delayMs(env);
    if (delay <= 0 || this.bytes >= this.o.maxMessageBytes) waitUntil(this.flush(env, log));
    else this.timer.arm(delay, waitUntil, () => this.flush(env, log));
    return true;
  }

  /** Send everything buffered now, in envelopes of at most maxMessageBytes; returns items sent.
   *  Envelopes of overlapping flushes may arrive in any order (items must be independent). */
  async flush(env: Env, log: Logger): Promise<number> {
    const items = this.items.splice(0);
    this.bytes = 0;
    let sent = 0;
    for (const group of pack(items, this.o.maxMessageBytes)) {
      try {
        await this.o.queue(env).send(this.o.envelope(group.map((i) => i.body)), { contentType: 'json' });
        sent += group.length;
      } catch (err) {
        const unsent = items.slice(sent);
        this.items.unshift(...unsent);
        this.bytes += unsent.reduce((s, i) => s + i.bytes, 0);
        log.warn(`${this.o.name}.send_failed`, { unsent: unsent.length, ...errorFields(err) });
        break;
      }
    }
    return sent;
  }
}

/** Consecutive groups whose sizes add up to at most maxBytes (an oversized item travels alone). */
export function pack<T extends { bytes: number }>(items: T[], maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.bytes > maxBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
