// GET /v1/flags?details=true as the providers read it: one request, the answer checked by hand
// (this package carries no validation library) before any of it reaches a flag evaluation.
// Works in browsers, Node and Workers: only fetch, AbortSignal.timeout and JSON.

/** One flag as the API sends it (FlagEvaluationDetail in the OpenAPI document). */
export interface WireFlagDetail {
  value: unknown;
  variant?: string;
  reason: string;
  errorCode?: string;
  errorMessage?: string;
}

export type WireFlagDetails = Record<string, WireFlagDetail>;

export interface FetchFlagsOptions {
  /** The API's origin, e.g. https://api.example.com (no trailing path). */
  baseUrl: string;
  /** The user's bearer token (a JWT); undefined for anonymous evaluation (base values only). */
  token?: string;
  /** A fetch to use instead of the global one (a Worker's service binding, a test's). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Give up after this long (default 5 s): a hung API must not hang the app. */
  timeoutMs?: number;
}

const isDetail = (d: unknown): d is WireFlagDetail =>
  typeof d === 'object' &&
  d !== null &&
  'value' in d &&
  typeof (d as WireFlagDetail).reason === 'string' &&
  ['undefined', 'string'].includes(typeof (d as WireFlagDetail).variant) &&
  ['undefined', 'string'].includes(typeof (d as WireFlagDetail).errorCode);

/** Fetch every flag's details; throws on a network error, a non-200 answer or a malformed body. */
export async function fetchFlagDetails(opts: FetchFlagsOptions): Promise<WireFlagDetails> {
  // Called unbound on purpose: in Workers a fetch kept as a property throws "Illegal invocation".
  const doFetch = opts.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await doFetch(`${opts.baseUrl.replace(/\/+$/, '')}/v1/flags?details=true`, {
    headers,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`GET /v1/flags answered ${res.status}`);
  }
  const body = (await res.json()) as { details?: unknown };
  const details = body?.details;
  if (typeof details !== 'object' || details === null || !Object.values(details).every(isDetail)) {
    throw new Error('GET /v1/flags?details=true: no valid details in the answer');
  }
  return details as WireFlagDetails;
}

/** Keys whose value (compared as canonical JSON) differs between two answers, or that one lacks. */
export function changedKeys(before: WireFlagDetails | undefined, after: WireFlagDetails): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  return [...keys].filter((k) => canonical(before?.[k]?.value) !== canonical(after[k]?.value)).sort();
}

function canonical(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, (x as Record<string, unknown>)[k]]),
        )
      : x,
  );
}
