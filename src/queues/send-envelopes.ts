// One attempt to put a flush's envelopes on a queue: as few sendBatch calls as the limits allow
// (queue-limits.ts), and when a batch call fails, its envelopes one by one, so one envelope the
// queue refuses never holds back the others. When nothing has been accepted yet and a call fails,
// the queue itself is probably down: the rest is left untried rather than hammered.
import { batches } from './queue-limits';

export interface Outgoing {
  /** The message body (sent as JSON). */
  body: unknown;
  /** Its UTF-8 size as JSON. */
  bytes: number;
}

export interface SendOutcome<E> {
  accepted: E[];
  /** Tried and refused (alone, or in a batch tried alone afterwards). */
  refused: E[];
  /** Not tried: the queue looked down. */
  untried: E[];
  /** Queue calls that threw, batch calls included. */
  failedCalls: number;
  lastError: unknown;
}

export async function sendEnvelopes<E extends Outgoing>(queue: Queue, envelopes: readonly E[]): Promise<SendOutcome<E>> {
  const out: SendOutcome<E> = { accepted: [], refused: [], untried: [], failedCalls: 0, lastError: undefined };
  let queueDown = false;
  const failed = (err: unknown) => {
    out.failedCalls += 1;
    out.lastError = err;
    if (out.accepted.length === 0) queueDown = true;
  };
  const sendOne = async (e: E) => {
    if (queueDown) {
      out.untried.push(e);
      return;
    }
    try {
      await queue.send(e.body, { contentType: 'json' });
      out.accepted.push(e);
    } catch (err) {
      out.refused.push(e);
      failed(err);
    }
  };
  for (const batch of batches(envelopes, (e) => e.bytes)) {
    if (batch.length === 1 || queueDown) {
      for (const e of batch) await sendOne(e);
      continue;
    }
    try {
      await queue.sendBatch(batch.map((e) => ({ body: e.body, contentType: 'json' as const })));
      out.accepted.push(...batch);
      continue;
    } catch (err) {
      // Not a verdict on any one envelope yet: each gets its own try below.
      out.failedCalls += 1;
      out.lastError = err;
    }
    for (const e of batch) await sendOne(e);
  }
  return out;
}
