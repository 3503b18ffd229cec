// createEdgeClient: typed calls for every operation of the API (paths and bodies checked by the
// compiler against schema.d.ts, generated from the served OpenAPI document), over openapi-fetch.
//
//   const edge = createEdgeClient({ baseUrl, getToken });
//   const slate = await edge.POST('/v1/rank', { body: { surface: 'feed' } });   // typed RankResponse
//
// A call resolves with the response body of its 2xx status, or rejects with EdgeApiError (the error
// envelope, typed). `edge.raw` is the openapi-fetch client itself ({ data, error, response }, never
// throws on a status) for callers that want the headers or branch on the status themselves.
import createClient, { type Client, type FetchResponse, type MaybeOptionalInit } from 'openapi-fetch';
import type { HttpMethod, PathsWithMethod, RequiredKeysOf } from 'openapi-typescript-helpers';
import { EdgeApiError } from './errors';
import { type RetryPolicy, retryingFetch } from './retry';
import type { paths } from './schema';

export interface EdgeClientOptions {
  /** Where the API is: `http://127.0.0.1:8787` locally, the Worker's URL in staging and production. */
  baseUrl: string;
  /** A bearer token: a user's JWT for /v1/* (or the service key for /admin/*). */
  token?: string;
  /** Called before every request (a fresh or refreshed JWT); wins over `token`. */
  getToken?: () => string | undefined | Promise<string | undefined>;
  /**
   * Wait and retry when the API answers 429 with Retry-After: `true` for the defaults (3 attempts,
   * waits up to 10 s), or the bounds. Off by default: a refused call rejects with EdgeApiError, whose
   * `retryAfter` says how long to wait.
   */
  retryOn429?: boolean | RetryPolicy;
  /** The fetch to use (default: the global one, looked up at call time). */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

type Json = 'application/json';
type InitParam<Init> = RequiredKeysOf<Init> extends never ? [(Init & { [key: string]: unknown })?] : [Init & { [key: string]: unknown }];
/** The body of the success branch of an openapi-fetch response. */
type SuccessData<R> = R extends { data: infer D; error?: never } ? D : never;

// Generic over the paths like openapi-fetch's own ClientMethod, so paths[Path][M] is indexed only once
// the path is known (Extract: the operation object, never the `?: never` of a method the path lacks).
type MethodOf<Paths extends {}, M extends HttpMethod> = <
  Path extends PathsWithMethod<Paths, M>,
  Init extends MaybeOptionalInit<Paths[Path], M & keyof Paths[Path]>,
>(
  url: Path,
  ...init: InitParam<Init>
) => Promise<SuccessData<FetchResponse<Extract<Paths[Path][M & keyof Paths[Path]], Record<string | number, unknown>>, Init, Json>>>;

/** One method of the client: a typed path and init, resolving with the 2xx body. */
export type EdgeMethod<M extends HttpMethod> = MethodOf<paths, M>;

export interface EdgeClient {
  GET: EdgeMethod<'get'>;
  POST: EdgeMethod<'post'>;
  PUT: EdgeMethod<'put'>;
  PATCH: EdgeMethod<'patch'>;
  DELETE: EdgeMethod<'delete'>;
  /** The openapi-fetch client underneath (same auth, retries and base URL). */
  raw: Client<paths, Json>;
}

export function createEdgeClient(options: EdgeClientOptions): EdgeClient {
  const base: (request: Request) => Promise<Response> = options.fetch ?? ((request) => globalThis.fetch(request));
  const retry = options.retryOn429;
  const raw = createClient<paths, Json>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: options.headers,
    fetch: retry ? retryingFetch(base, retry === true ? {} : retry) : base,
  });
  raw.use({
    async onRequest({ request }) {
      const token = options.getToken ? await options.getToken() : options.token;
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  });
  const method =
    <M extends HttpMethod>(name: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'): EdgeMethod<M> =>
    async (url, ...init) => {
      const call = raw[name] as (url: string, init?: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
      const { data, error, response } = await call(url, init[0]);
      if (error !== undefined || !response.ok) throw EdgeApiError.fromResponse(response, error);
      return data as never;
    };
  return { GET: method('GET'), POST: method('POST'), PUT: method('PUT'), PATCH: method('PATCH'), DELETE: method('DELETE'), raw };
}
