// Retry a whole transaction when Postgres aborted it for a conflict it resolves by killing one
// side: deadlock_detected (40P01) and serialization_failure (40001). Both mean "nothing of yours
// was committed, run it again"; anything else is the caller's error and is thrown at once.
// Classified by the driver's own error (rootCause), never by drizzle's wrapper.
import { rootCause } from '../observability/logger';

const RETRYABLE = new Set(['40P01', '40001']);

/** The SQLSTATE of a conflict Postgres expects the client to retry, else null. */
export function retryableCode(err: unknown): string | null {
  const code = (rootCause(err) as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code) ? code : null;
}

export interface RetryOptions {
  /** Tries in all (default 4). */
  attempts?: number;
  /** First pause in ms, doubled per retry, with jitter so the two sides do not collide again. */
  baseDelayMs?: number;
  onRetry?: (info: { attempt: number; code: string }) => void;
}

/** Run fn (one whole transaction) again after a deadlock or serialization failure. */
export async function retryOnConflict<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = retryableCode(err);
      if (code === null || attempt >= attempts) throw err;
      opts.onRetry?.({ attempt, code });
      await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}
