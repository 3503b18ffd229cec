// Every failure the API answers is the error envelope {"error":{"code","message","request_id","details?"}}
// (docs/ARCHITECTURE.md). EdgeApiError carries it as it came, so a client can branch on `code` and
// quote `request_id` to an operator, who finds the request's log lines by it.

/** The envelope as the API sends it (components.schemas.Error in the OpenAPI document). */
export interface ErrorEnvelope {
  error: { code: string; message: string; request_id: string; details?: unknown };
}

function isEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const e = (body as { error: unknown }).error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as Record<string, unknown>).code === 'string' &&
    typeof (e as Record<string, unknown>).message === 'string'
  );
}

/**
 * Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent or unreadable.
 */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('Retry-After')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

export class EdgeApiError extends Error {
  override readonly name = 'EdgeApiError';
  /** The HTTP status. */
  readonly status: number;
  /** The envelope's code (`invalid_request`, `unauthorized`, `rate_limited`, …); `http_<status>` when the body was not an envelope (a proxy's page, say). */
  readonly code: string;
  /** The envelope's request_id (also the x-request-id response header): what to quote in a bug report. */
  readonly request_id: string | undefined;
  /** The envelope's details (the zod issues of a 400, for one), as sent. */
  readonly details: unknown;
  /** Seconds the API asked to wait (429, 503), from Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(init: { status: number; code: string; message: string; request_id?: string; details?: unknown; retryAfter?: number }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.request_id = init.request_id;
    this.details = init.details;
    this.retryAfter = init.retryAfter;
  }

  /** From an answer that was not 2xx and its parsed body (JSON, or the text when it was not JSON). */
  static fromResponse(response: Response, body: unknown): EdgeApiError {
    const retryAfter = retryAfterSeconds(response.headers);
    if (isEnvelope(body)) {
      const { code, message, request_id, details } = body.error;
      return new EdgeApiError({ status: response.status, code, message, request_id, details, retryAfter });
    }
    const text = typeof body === 'string' ? body.slice(0, 200) : '';
    return new EdgeApiError({
      status: response.status,
      code: `http_${response.status}`,
      message: text || `HTTP ${response.status} ${response.statusText}`.trim(),
      request_id: response.headers.get('x-request-id') ?? undefined,
      retryAfter,
    });
  }
}
