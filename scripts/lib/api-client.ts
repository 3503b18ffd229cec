// Thin client for the admin API, used by the npm scripts (flags, dlq, ope, smoke…), so a CLI action
// takes exactly the path an API call takes (validation, KV + Postgres writes, ledger).
//   API_URL          default http://127.0.0.1:8787
//   SERVICE_ROLE_KEY default: .dev.vars, then dev-service-role-key
import { fail, readDotVars } from './env';

export interface ApiOptions {
  baseUrl?: string;
  serviceKey?: string;
}

export function apiConfig(opts: ApiOptions = {}): { baseUrl: string; serviceKey: string } {
  const vars = readDotVars();
  return {
    baseUrl: (opts.baseUrl ?? (process.env.API_URL || 'http://127.0.0.1:8787')).replace(/\/$/, ''),
    serviceKey: opts.serviceKey ?? process.env.SERVICE_ROLE_KEY ?? vars.SERVICE_ROLE_KEY ?? 'dev-service-role-key',
  };
}

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    super(err ? `${status} ${err.code}: ${err.message}` : `HTTP ${status}`);
  }
}

/** Call an admin route with the service key; JSON in, JSON out; throws ApiCallError on non-2xx. */
export async function adminCall<T = unknown>(method: string, path: string, body?: unknown, opts: ApiOptions = {}): Promise<T> {
  const { baseUrl, serviceKey } = apiConfig(opts);
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${serviceKey}`,
        'x-actor': 'cli',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(`cannot reach ${baseUrl} (is \`npm run dev\` running, or API_URL set?): ${(err as Error).message}`);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiCallError(res.status, json);
  return json as T;
}

/** A CLI's last word on an error: the API's message, with the envelope's details when it has them. */
export function failWithApiError(err: unknown): never {
  const details = err instanceof ApiCallError ? (err.body as { error?: { details?: unknown } } | null)?.error?.details : undefined;
  fail(`${(err as Error).message}${details ? `\n${JSON.stringify(details, null, 2)}` : ''}`);
}
