// Identifiers: request ids and UUID checks.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

/** Keep a caller's x-request-id when it is safe to echo and log; otherwise mint one. */
export function requestIdFrom(header: string | undefined | null): string {
  return header && SAFE_REQUEST_ID.test(header) ? header : crypto.randomUUID();
}
