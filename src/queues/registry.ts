// Queue message handling shared by all consumers: every message is an object with a `type`;
// a handler per type validates it with zod and processes its messages as a group.
import type { z } from 'zod';
import type { Db } from '../db/client';
import type { Logger } from '../observability/logger';

export interface ConsumerContext {
  env: Env;
  log: Logger;
  db: () => Db;
  ctx: ExecutionContext;
  /** Name of the queue the batch came from. */
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

export type HandlerMap = Record<string, MessageHandler<any>>;

/** Exponential backoff for msg.retry(): 2^(attempts-1) × base, capped. */
export function backoffSeconds(attempts: number, baseSeconds = 5, capSeconds = 300): number {
  return Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempts - 1));
}
