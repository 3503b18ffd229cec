// queue(): one entry for every queue the Worker consumes; dispatch on batch.queue, then on each
// message's `type` to the handlers the composition root registered (src/consumers.ts). Queue names
// differ per environment (edge-events, edge-events-staging, …). Poison messages (unknown type,
// invalid body) are recorded as dead letters at once; a handler that throws gets its unacked
// messages retried with backoff, and after max_retries Cloudflare moves them to the DLQ queue,
// whose batches are recorded here too — nothing is dropped silently.
import { getConfig } from '../config';
import { errorFields } from '../observability/logger';
import { backoffSeconds, type ConsumerContext, type DeadLetterHook, type HandlerMap } from '../platform/message';
import { openUnit } from '../platform/unit';
import { type DeadMessage, recordDeadMessages, topicOf } from './dead-letters';

export type QueueKind = 'events' | 'discovery' | 'events-dlq' | 'discovery-dlq';

export function queueKind(name: string): QueueKind | undefined {
  const dlq = name.endsWith('-dlq');
  if (name.startsWith('edge-events')) return dlq ? 'events-dlq' : 'events';
  if (name.startsWith('edge-discovery')) return dlq ? 'discovery-dlq' : 'discovery';
  return undefined;
}

export interface ConsumerOptions {
  /** Message handlers per queue kind: message type → handler. */
  handlers: Record<'events' | 'discovery', HandlerMap>;
  /**
   * Extra work for dead-letter batches (e.g. marking job rows dead). A hook may return the ids of
   * messages it has recorded itself; every other message is recorded in events_queue, so nothing
   * is dropped and nothing shows twice.
   */
  deadLetterHooks?: Partial<Record<'events-dlq' | 'discovery-dlq', DeadLetterHook>>;
}

/** Default of QUEUE_QUERY_TIMEOUT_MS (src/config.ts says why a queue batch has one). */
const QUEUE_QUERY_TIMEOUT_MS = 30_000;

export function createQueueHandler(opts: ConsumerOptions) {
  return async (batch: MessageBatch, env: Env, ctx: ExecutionContext): Promise<void> => {
    const { unit, close } = openUnit(env, (p) => ctx.waitUntil(p), {
      fields: { queue: batch.queue, batch_size: batch.messages.length },
      db: { queryTimeoutMs: getConfig(env).QUEUE_QUERY_TIMEOUT_MS ?? QUEUE_QUERY_TIMEOUT_MS },
    });
    const c: ConsumerContext = { ...unit, queue: batch.queue };
    const started = Date.now();
    try {
      const kind = queueKind(batch.queue);
      if (kind === 'events-dlq' || kind === 'discovery-dlq') await consumeDeadLetters(batch, c, opts.deadLetterHooks?.[kind]);
      else if (kind) await consumeByType(batch, c, opts.handlers[kind]);
      else {
        unit.log.error('queue.unknown', {});
        batch.retryAll();
      }
    } finally {
      unit.log.info('queue.batch', { duration_ms: Date.now() - started });
      await close();
    }
  };
}

async function consumeByType(batch: MessageBatch, c: ConsumerContext, map: HandlerMap): Promise<void> {
  const groups = new Map<string, Message[]>();
  const dead: DeadMessage[] = [];
  const deadMsgs: Message[] = [];
  for (const msg of batch.messages) {
    const type = topicOf(msg.body);
    const handler = map[type];
    const parsed = handler?.schema.safeParse(msg.body);
    if (!handler || !parsed?.success) {
      const error = !handler
        ? `unknown message type "${type}"`
        : `invalid message: ${parsed!.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      dead.push({ queue: batch.queue, messageId: msg.id, body: msg.body, attempts: msg.attempts, error });
      deadMsgs.push(msg);
      continue;
    }
    groups.set(type, [...(groups.get(type) ?? []), msg]);
  }
  if (dead.length > 0) {
    // Poison messages are never retried: record them, then ack. If recording fails, retry them.
    try {
      await recordDeadMessages(c.db(), dead);
      for (const m of deadMsgs) m.ack();
      c.log.warn('queue.poison', { count: dead.length, first_error: dead[0]!.error });
    } catch (err) {
      c.log.error('queue.poison_record_failed', errorFields(err));
      for (const m of deadMsgs) m.retry({ delaySeconds: backoffSeconds(m.attempts) });
    }
  }
  for (const [type, msgs] of groups) {
    try {
      await map[type]!.handle(msgs, c);
    } catch (err) {
      c.log.error('queue.handler_failed', { type, count: msgs.length, ...errorFields(err) });
      // Acked messages are unaffected by a later retry() call; the rest go back with backoff.
      for (const m of msgs) m.retry({ delaySeconds: backoffSeconds(m.attempts) });
    }
  }
}

async function consumeDeadLetters(batch: MessageBatch, c: ConsumerContext, hook: DeadLetterHook | undefined): Promise<void> {
  try {
    const recorded = new Set((await hook?.(batch.messages, c)) ?? []);
    await recordDeadMessages(
      c.db(),
      batch.messages
        .filter((m) => !recorded.has(m.id))
        .map((m) => ({
          queue: batch.queue,
          messageId: m.id,
          body: m.body,
          attempts: m.attempts,
          error: `retries exhausted on ${batch.queue.replace(/-dlq$/, '')}`,
        })),
    );
    batch.ackAll();
  } catch (err) {
    c.log.error('queue.dlq_record_failed', errorFields(err));
    batch.retryAll({ delaySeconds: 60 });
  }
}
