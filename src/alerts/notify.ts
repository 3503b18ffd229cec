// What happens on every alert transition: one structured log line (always), and — unless the rule
// is silenced — a webhook POST to ALERT_WEBHOOK_URL. The webhook goes through the EVENTS queue
// (`alert.webhook`): a failed POST is retried with backoff by the queue, and after max_retries the
// message lands in the DLQ and the dead-letter ledger (vw_dead_letter_queue), never silently.
// With ALERT_WEBHOOK_SECRET set, each POST is signed per Standard Webhooks (webhook-signature.ts);
// its webhook-id is the message's id, so every retry of one delivery carries the same id.
import { z } from 'zod';
import { getConfig } from '../config';
import type { Logger } from '../observability/logger';
import { errorFields } from '../observability/logger';
import { backoffSeconds, type MessageHandler } from '../platform/message';
import type { AlertState } from './state';
import { signWebhook } from './webhook-signature';

export interface AlertNotice {
  alert_id: number;
  rule_id: string;
  description: string;
  subject: string;
  from: AlertState | null;
  to: AlertState;
  severity: string;
  value: number | null;
  threshold: number;
  comparator: string;
  action: string;
  runbook: string | null;
  at: string;
  silenced: boolean;
}

export function logTransition(log: Logger, n: AlertNotice): void {
  const fields = {
    alert_id: n.alert_id,
    rule: n.rule_id,
    subject: n.subject,
    from: n.from,
    to: n.to,
    severity: n.severity,
    value: n.value,
    threshold: n.threshold,
    comparator: n.comparator,
    silenced: n.silenced,
    runbook: n.runbook,
  };
  // Firing pages/tickets are warnings (they need a human); everything else is information.
  if (n.to === 'firing' && !n.silenced) log.warn('alert.transition', fields);
  else log.info('alert.transition', fields);
}

const WebhookMessage = z.object({
  type: z.literal('alert.webhook'),
  /** alert id + target state: the receiver's idempotency key (a retry re-sends the same id). */
  id: z.string().min(1).max(100),
  notice: z.record(z.string(), z.unknown()),
});
type WebhookMessage = z.infer<typeof WebhookMessage>;

/** Queue one webhook per notice (skipped when no webhook is configured or the rule is silenced). */
export async function enqueueWebhooks(env: Env, notices: AlertNotice[], log: Logger): Promise<number> {
  const url = getConfig(env).ALERT_WEBHOOK_URL;
  const due = notices.filter((n) => !n.silenced);
  if (!url || due.length === 0) return 0;
  const messages: WebhookMessage[] = due.map((n) => ({ type: 'alert.webhook', id: `${n.alert_id}:${n.to}`, notice: { ...n } }));
  try {
    await env.EVENTS.sendBatch(messages.map((body) => ({ body, contentType: 'json' as const })));
    return messages.length;
  } catch (err) {
    log.error('alert.webhook_enqueue_failed', { count: messages.length, ...errorFields(err) });
    return 0;
  }
}

const WEBHOOK_TIMEOUT_MS = 10_000;

export const alertWebhookHandler: MessageHandler<WebhookMessage> = {
  schema: WebhookMessage,
  async handle(messages, c) {
    const config = getConfig(c.env);
    const url = config.ALERT_WEBHOOK_URL;
    const secrets = [config.ALERT_WEBHOOK_SECRET, config.ALERT_WEBHOOK_SECRET_NEXT].filter((s): s is string => !!s);
    for (const m of messages) {
      if (!url) {
        c.log.warn('alert.webhook_unconfigured', { id: m.body.id });
        m.ack();
        continue;
      }
      try {
        // The exact bytes signed are the bytes sent: the receiver verifies the raw body.
        const body = JSON.stringify({ id: m.body.id, ...m.body.notice });
        const signed = secrets.length > 0 ? await signWebhook({ id: m.body.id, body, secrets }) : {};
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-alert-id': m.body.id, ...signed },
          body,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`webhook answered ${res.status}`);
        m.ack();
        c.log.info('alert.webhook_sent', { id: m.body.id, status: res.status });
      } catch (err) {
        // Host only: the URL may carry a token in its path or query.
        const host = new URL(url).host;
        const error = String(errorFields(err).error).split(url).join(host);
        c.log.warn('alert.webhook_failed', { id: m.body.id, attempts: m.attempts, host, error });
        m.retry({ delaySeconds: backoffSeconds(m.attempts) });
      }
    }
  },
};
