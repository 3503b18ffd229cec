// Queue messages: every message is an object with a `type`; a handler per type validates it with
// zod and processes its messages as a group. Feature folders export their handlers; the
// composition root (src/index.ts) maps message types to them per queue.
import type { z } from 'zod';
import type { Unit } from './unit';

/** The unit of work of one queue batch. */
export interface ConsumerContext extends Unit {
  /** Name of the queue the batch came from (names differ per environment). */
  queue: string;
}

export interface MessageHandler<T = unknown> {
  /** Validates one message body; failures go to the dead-letter ledger without retries. */
  schema: z.ZodType<T>;
  /**
   * Process the valid messages of this type. Ack or retry each message; if the handler throws,
   * every message it was given that is not yet acked is retried with backoff.
   */
  handle(messages: Message<T>[], ctx: ConsumerContext): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: a map holds handlers of different message types
export type HandlerMap = Record<string, MessageHandler<any>>;

/** Extra work for a dead-letter batch; returns the ids of messages it recorded itself. */
export type DeadLetterHook = (messages: readonly Message[], c: ConsumerContext) => Promise<undefined | readonly string[]>;

/** Exponential backoff for msg.retry(): 2^(attempts-1) × base, capped. */
export function backoffSeconds(attempts: number, baseSeconds = 5, capSeconds = 300): number {
  return Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempts - 1));
}
