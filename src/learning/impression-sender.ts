// The isolate's buffer of learning impressions (module scope, request-independent): decisions
// ranked by this isolate within LEARNING_FLUSH_MS (default 1 s) leave as `learning.impressions.batch`
// messages of at most 127 KB each. See src/queues/batching-sender.ts for the guarantees (byte
// sizing, retries with backoff, the bound) and src/observability/drop-reports.ts for how drops
// reach the `learning.impressions_dropped` gauge and its alert.
import { getConfig } from '../config';
import { DropReporter } from '../observability/drop-reports';
import { BatchingSender, type BatchingSenderOptions } from '../queues/batching-sender';
import type { ImpressionsBatchMessage, ImpressionsMessage } from './messages';

export const DEFAULT_LEARNING_FLUSH_MS = 1_000;

/**
 * What one isolate holds while sends fail: 8 MB or 20,000 decisions, whichever comes first —
 * ~20 s of a busy isolate's decisions (~1,000 rank requests/s) or ~70 worst-case ones (112 KB each,
 * see maxDecisionMessageBytes). The isolate's memory limit is 128 MB.
 */
export const IMPRESSION_BUFFER = { bytes: 8_000_000, decisions: 20_000 } as const;

export const impressionsEnvelope = (decisions: ImpressionsMessage[]): ImpressionsBatchMessage => ({
  type: 'learning.impressions.batch',
  v: 1,
  decisions,
});

export const impressionDrops = new DropReporter('learning.impressions_dropped');

/** The impressions sender as the rank route uses it; tests vary its bound, queue and timings. */
export function createImpressionSender(
  overrides: Partial<BatchingSenderOptions<ImpressionsMessage>> = {},
): BatchingSender<ImpressionsMessage> {
  return new BatchingSender<ImpressionsMessage>({
    name: 'learning.impressions',
    envelope: impressionsEnvelope,
    maxBufferedBytes: IMPRESSION_BUFFER.bytes,
    maxBufferedItems: IMPRESSION_BUFFER.decisions,
    delayMs: (env) => {
      try {
        return getConfig(env).LEARNING_FLUSH_MS ?? DEFAULT_LEARNING_FLUSH_MS;
      } catch {
        return DEFAULT_LEARNING_FLUSH_MS;
      }
    },
    queue: (env) => env.EVENTS,
    onDrop: (count, _reason, env, waitUntil, log) => impressionDrops.record(count, env, waitUntil, log),
    ...overrides,
  });
}

export const impressionSender = createImpressionSender();
