// Helpers for the learning-loop tests inside workerd: queue delivery through the Worker's own
// queue() handler, the */5 cron, polling for asynchronous effects, and message builders.
import { createExecutionContext, createMessageBatch, createScheduledController, env, getQueueResult } from 'cloudflare:test';
import worker from '../../src/index';
import type { ImpressionsMessage, RewardMessage } from '../../src/learning/messages';
import { epsilonGreedySlate, rngForDecision, type ScoredCandidate } from '../../src/ranker';

export async function deliver(bodies: unknown[], ids?: string[]) {
  const batch = createMessageBatch(
    'edge-events',
    bodies.map((body, i) => ({
      id: ids?.[i] ?? `${crypto.randomUUID()}-${i}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

export async function runCron(cron = '*/5 * * * *') {
  await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env, createExecutionContext());
}

/** Poll until check() returns a value that is not undefined/false, or fail after timeoutMs. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A decision of the real policy over `cands`, as the rank route would queue it. */
export function impressions(opts: {
  surface: string;
  cands: ScoredCandidate[];
  limit: number;
  epsilon: number;
  userId?: string | null;
  decisionId?: string;
  policy?: string;
}): ImpressionsMessage {
  const decisionId = opts.decisionId ?? crypto.randomUUID();
  const items = epsilonGreedySlate(opts.cands, opts.limit, opts.epsilon, rngForDecision(decisionId));
  return {
    type: 'learning.impressions',
    v: 1,
    decision_id: decisionId,
    user_id: opts.userId ?? null,
    surface: opts.surface,
    policy: opts.policy ?? 'epsilon_greedy_v1',
    ts: new Date().toISOString(),
    context: { test: true },
    events: items.map((it) => ({
      candidate_id: it.candidate_id,
      position: it.position,
      score: it.score,
      p_exp: it.p_exp,
      explored: it.explored,
      ...it.ope,
    })),
  };
}

export function reward(decisionId: string, candidateId: string, userId: string, value: number): RewardMessage {
  return {
    type: 'learning.reward',
    v: 1,
    decision_id: decisionId,
    candidate_id: candidateId,
    user_id: userId,
    reward: value,
    ts: new Date().toISOString(),
  };
}

export const setFlag = (key: string, value: unknown) => env.FLAGS.put(key, JSON.stringify(value));

/** The flags the ranker reads, in this test file's KV (set before the file's first request). */
export async function setRankFlags(f: { safeMode: boolean; learning: boolean; policy: { version: string; epsilon: number } }) {
  await setFlag('global.safe_mode', { enabled: f.safeMode });
  await setFlag('learning.enabled', { enabled: f.learning });
  await setFlag('ranker.policy', f.policy);
}
