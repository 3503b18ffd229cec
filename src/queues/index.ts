// queue(): one entry for every queue the Worker consumes; dispatch on batch.queue, then on each
// message's `type`. Queue names differ per environment (edge-events, edge-events-staging, …).
import { alertWebhookHandler } from '../alerts/notify';
import { createDb, type Db } from '../db/client';
import { metricsHistogramHandler } from '../observability/ingest';
import { discoveryJobHandler, markDeadJobs } from '../discovery/consumer';
import { DISCOVERY_JOB } from '../discovery/messages';
import { createLogger, errorFields } from '../observability/logger';
import { recordDeadMessages, topicOf, type DeadMessage } from './dead-letters';
import { backoffSeconds, type ConsumerContext, type HandlerMap } from './registry';

export type QueueKind = 'events' | 'discovery' | 'events-dlq' | 'discovery-dlq';

export function queueKind(name: string): QueueKind | undefined {
  const dlq = name.endsWith('-dlq');
  if (name.startsWith('edge-events')) return dlq ? 'events-dlq' : 'events';
  if (name.startsWith('edge-discovery')) return dlq ? 'discovery-dlq' : 'discovery';
  return undefined;
}

/** Message handlers per queue kind; each feature registers its message types here. */
export const handlers: Record<'events' | 'discovery', HandlerMap> = {
  events: {
    'metrics.histogram': metricsHistogramHandler,
    'alert.webhook': alertWebhookHandler,
  },
  discovery: { [DISCOVERY_JOB]: discoveryJobHandler },
};

/**
 * Extra work for dead-letter batches (e.g. marking ledger rows dead). A hook may return the ids of
 * messages it has recorded itself (their ledger row now shows them as dead); every other message
 * is recorded in events_queue, so nothing is dropped and nothing shows twice.
 */
export const deadLetterHooks: Partial<Record<'events-dlq' | 'discovery-dlq', (msgs: readonly Message[], c: ConsumerContext) => Promise<void | readonly string[]>>> = {
  'discovery-dlq': markDeadJobs,
};

export async function handleQueue(batch: MessageBatch, env: Env, ctx: ExecutionContext): Promise<void> {
  const log = createLogger({ request_id: crypto.randomUUID(), queue: batch.queue, batch_size: batch.messages.length });
  let db: Db | undefined;
  const c: ConsumerContext = { env, log, ctx, queue: batch.queue, db: () => (db ??= createDb(env, log)) };
  const started = Date.now();
  try {
    const kind = queueKind(batch.queue);
    if (kind === 'events-dlq' || kind === 'discovery-dlq') await consumeDeadLetters(batch, c, kind);
    else if (kind) await consumeByType(batch, c, handlers[kind]);
    else {
      log.error('queue.unknown', {});
      batch.retryAll();
    }
  } finally {
    log.info('queue.batch', { duration_ms: Date.now() - started });
    if (db) await db.end();
  }
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
      const error = !handler ? `unknown message type "${type}"` : `invalid message: ${parsed!.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
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

async function consumeDeadLetters(batch: MessageBatch, c: ConsumerContext, kind: 'events-dlq' | 'discovery-dlq'): Promise<void> {
  try {
    const recorded = new Set((await deadLetterHooks[kind]?.(batch.messages, c)) ?? []);
    await recordDeadMessages(
      c.db(),
      batch.messages.filter((m) => !recorded.has(m.id)).map((m) => ({
        queue: batch.queue, messageId: m.id, body: m.body, attempts: m.attempts,
        error: `retries exhausted on ${batch.queue.replace(/-dlq$/, '')}`,
      })),
    );
    batch.ackAll();
  } catch (err) {
    c.log.error('queue.dlq_record_failed', errorFields(err));
    batch.retryAll({ delaySeconds: 60 });
  }
}
