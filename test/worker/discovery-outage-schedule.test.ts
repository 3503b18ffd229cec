// The outage retry schedule of the DISCOVERY consumer: from any delivery, the delays still ahead
// add up to at least the configured outage window, so an outage no longer than the window never
// dead-letters a job; and a real job failure keeps the short ordinary backoff.
import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, outageRetryDelaySeconds, retryDelaySeconds } from '../../src/discovery/config';

const env = (vars: Record<string, string>) => vars as unknown as Env;

/** Seconds from the failed `from`-th delivery until the last delivery (MAX_ATTEMPTS) is made. */
function aheadOf(e: Env, from: number): number {
  let total = 0;
  for (let a = from; a < MAX_ATTEMPTS; a++) total += outageRetryDelaySeconds(e, a);
  return total;
}

describe('outage retry schedule', () => {
  it('default window (15 min): the first outage failure waits 30 s, and every suffix spans ≥ 900 s', () => {
    const e = env({});
    expect([1, 2, 3, 4, 5].map((a) => outageRetryDelaySeconds(e, a))).toEqual([30, 60, 129, 300, 900]);
    for (let from = 1; from < MAX_ATTEMPTS; from++) expect(aheadOf(e, from)).toBeGreaterThanOrEqual(900);
    // The ordinary schedule (5/10/20/40/80 s) is what dead-lettered jobs in a 2.6-minute outage.
    expect([1, 2, 3, 4, 5].reduce((n, a) => n + retryDelaySeconds(e, a), 0)).toBe(155);
  });

  it('follows a configured window, never below the ordinary backoff, never above 12 h', () => {
    const hour = env({ DISCOVERY_OUTAGE_WINDOW_SECONDS: '3600' });
    for (let from = 1; from < MAX_ATTEMPTS; from++) expect(aheadOf(hour, from)).toBeGreaterThanOrEqual(3600);
    const none = env({ DISCOVERY_OUTAGE_WINDOW_SECONDS: '0', DISCOVERY_RETRY_BASE_SECONDS: '7' });
    expect(outageRetryDelaySeconds(none, 1)).toBe(7);
    const huge = env({ DISCOVERY_OUTAGE_WINDOW_SECONDS: '43200' });
    expect(outageRetryDelaySeconds(huge, 5)).toBe(43_200);
  });
});
