// Composition: which handler processes each message type on each queue. Every handler lives in
// its feature folder; adding a message type is an entry here.
import { alertWebhookHandler } from './alerts/notify';
import { discoveryJobHandler, markDeadJobs } from './discovery/consumer';
import { DISCOVERY_JOB } from './discovery/messages';
import { impressionsBatchHandler, impressionsHandler, rewardHandler } from './learning/ingest';
import { metricsHistogramHandler } from './observability/ingest';
import type { ConsumerOptions } from './queues/consume';

export const consumers: ConsumerOptions = {
  handlers: {
    events: {
      'metrics.histogram': metricsHistogramHandler,
      'alert.webhook': alertWebhookHandler,
      'learning.impressions': impressionsHandler,
      'learning.impressions.batch': impressionsBatchHandler,
      'learning.reward': rewardHandler,
    },
    discovery: { [DISCOVERY_JOB]: discoveryJobHandler },
  },
  deadLetterHooks: { 'discovery-dlq': markDeadJobs },
};
