// The isolate's buffer of learning impressions (module scope, request-independent): decisions
// ranked by this isolate within LEARNING_FLUSH_MS (default 1 s) leave as one
// `learning.impressions.batch` message. See src/queues/batching-sender.ts for why and how.
import { getConfig } from '../config';
import { BatchingSender } from '../queues/batching-sender';
import type { ImpressionsBatchMessage, ImpressionsMessage } from './messages';

export const DEFAULT_LEARNING_FLUSH_MS = 1_000;

export const impressionSender = new BatchingSender<ImpressionsMessage>({
  name: 'learning.impressions',
  envelope: (decisions): ImpressionsBatchMessage => ({ type: 'learning.impressions.batch', v: 1, decisions }),
  maxMessageBytes: 96_000,
  maxBufferedBytes: 8_000_000,
  delayMs: (env) => {
    try {
      return getConfig(env).LEARNING_FLUSH_MS ?? DEFAULT_LEARNING_FLUSH_MS;
    } catch {
      return DEFAULT_LEARNING_FLUSH_MS;
    }
  },
  queue: (env) => env.EVENTS,
});
