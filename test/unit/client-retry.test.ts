// The typed client's Retry-After handling (clients/typescript/src/retry.ts) at its edges, against a
// scripted server function: the body is sent again on every attempt, attempts and waits stay within
// their bounds, an HTTP-date Retry-After is read, and an abort ends the wait. Its behaviour against
// the real limiter: test/worker/client.test.ts.
import { describe, expect, it } from 'vitest';
import { EdgeApiError, retryAfterSeconds } from '../../clients/typescript/src/errors';
import { retryingFetch } from '../../clients/typescript/src/retry';

/** A server answering with `statuses` in turn (then 200), recording the bodies it received. */
function server(statuses: number[], retryAfter = '0') {
  const bodies: string[] = [];
  const fetch = async (request: Request) => {
    bodies.push(await request.text());
    const status = statuses[bodies.length - 1] ?? 200;
    return new Response(JSON.stringify({ n: bodies.length }), { status, headers: status === 200 ? {} : { 'Retry-After': retryAfter } });
  };
  return { fetch, bodies };
}

const post = (signal?: AbortSignal) => new Request('http://api.test/v1/rewards', { method: 'POST', body: '{"reward":1}', signal });

describe('retryingFetch', () => {
  it('sends the body again on each attempt and returns the first success', async () => {
    const s = server([429, 429]);
    const res = await retryingFetch(s.fetch, { maxAttempts: 3 })(post());
    expect(res.status).toBe(200);
    expect(s.bodies).toEqual(['{"reward":1}', '{"reward":1}', '{"reward":1}']);
  });

  it('stops after maxAttempts and hands back the last refusal', async () => {
    const s = server([429, 429, 429, 429]);
    const res = await retryingFetch(s.fetch, { maxAttempts: 2 })(post());
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ n: 2 });
  });

  it('does not wait longer than maxWaitMs, nor retry other statuses unless asked', async () => {
    const long = server([429], '30');
    expect((await retryingFetch(long.fetch, { maxWaitMs: 10_000 })(post())).status).toBe(429);
    expect(long.bodies).toHaveLength(1);
    const unavailable = server([503]);
    expect((await retryingFetch(unavailable.fetch)(post())).status).toBe(503);
    expect((await retryingFetch(server([503]).fetch, { statuses: [429, 503] })(post())).status).toBe(200);
  });

  it('an abort during the wait rejects with the abort reason', async () => {
    const controller = new AbortController();
    const pending = retryingFetch(server([429], '5').fetch)(post(controller.signal));
    controller.abort(new Error('user left'));
    await expect(pending).rejects.toThrow('user left');
  });
});

describe('EdgeApiError', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterSeconds(new Headers({ 'Retry-After': '7' }))).toBe(7);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds(new Headers({ 'Retry-After': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30);
    expect(retryAfterSeconds(new Headers({ 'Retry-After': 'soon' }))).toBeUndefined();
  });

  it('keeps a body that is not an envelope readable (a proxy page)', () => {
    const res = new Response(null, { status: 502, statusText: 'Bad Gateway', headers: { 'x-request-id': 'r1' } });
    const e = EdgeApiError.fromResponse(res, '<html>bad gateway</html>');
    expect([e.status, e.code, e.message, e.request_id]).toEqual([502, 'http_502', '<html>bad gateway</html>', 'r1']);
  });
});
