// Optional automatic Retry-After handling, as a fetch wrapper beneath openapi-fetch: a refused
// request is sent again after the wait the API asked for, bounded in attempts and in each wait.
// A 429 is safe to repeat, a POST included: the limiter refuses before the route runs. Only standard
// fetch, Request and timers: the same code runs in browsers, Node and Workers.
import { retryAfterSeconds } from './errors';

export interface RetryPolicy {
  /** Attempts in all, the first included (default 3). */
  maxAttempts?: number;
  /** The longest single wait (default 10 000 ms): a longer Retry-After is answered at once with the error. */
  maxWaitMs?: number;
  /** Statuses that are retried when they carry Retry-After (default [429]; add 503 for "database unreachable"). */
  statuses?: number[];
}

type Fetch = (request: Request) => Promise<Response>;

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function retryingFetch(inner: Fetch, policy: RetryPolicy = {}): Fetch {
  const maxAttempts = Math.max(1, policy.maxAttempts ?? 3);
  const maxWaitMs = Math.max(0, policy.maxWaitMs ?? 10_000);
  const statuses = new Set(policy.statuses ?? [429]);
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      // Each attempt sends a copy: a body stream can be read once.
      const response = await inner(attempt < maxAttempts ? request.clone() : request);
      if (attempt >= maxAttempts || !statuses.has(response.status)) return response;
      const seconds = retryAfterSeconds(response.headers);
      if (seconds === undefined || seconds * 1000 > maxWaitMs) return response;
      await response.body?.cancel(); // frees the connection; this answer is not handed to anyone
      await sleep(seconds * 1000, request.signal);
    }
  };
}
