// Helpers for the observability tests: fault-injection headers, waiting for rollups to land.
import { env } from 'cloudflare:test';
import type { TestDb } from './support';

export const faultKey = (): string => (env as unknown as { FAULT_INJECTION_KEY: string }).FAULT_INJECTION_KEY;

export function faultHeaders(f: { op?: string; delayMs?: number; status?: number }): Record<string, string> {
  const h: Record<string, string> = { 'x-fault-key': faultKey() };
  if (f.op) h['x-fault-op'] = f.op;
  if (f.delayMs !== undefined) h['x-fault-delay-ms'] = String(f.delayMs);
  if (f.status !== undefined) h['x-fault-status'] = String(f.status);
  return h;
}

/** Poll until fn returns a truthy value (queue delivery is asynchronous), or fail after timeoutMs. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface RollupTotals {
  requests: number;
  errors: number;
  buckets: number[];
}

/** Sum of an operation's rollups (all minutes). */
export async function rollupTotals(db: TestDb, op: string): Promise<RollupTotals> {
  const [r] = await db.query<{ requests: string | null; errors: string | null; buckets: string[] | null }>(
    `SELECT sum(requests) AS requests, sum(errors) AS errors, public.histogram_sum(buckets) AS buckets
     FROM public.request_metrics_minute WHERE operation = $1`,
    [op],
  );
  return { requests: Number(r?.requests ?? 0), errors: Number(r?.errors ?? 0), buckets: (r?.buckets ?? []).map(Number) };
}
