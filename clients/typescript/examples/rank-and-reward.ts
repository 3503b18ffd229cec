// An example client app: ranks candidates for the signed-in user with POST /v1/rank, "shows" the
// slate, and reports a click on its first item with POST /v1/rewards, through @edge-discovery/client.
//
//   API_URL=http://127.0.0.1:8787 API_TOKEN=$(npm run -s token -- <user-uuid>) \
//     node --import tsx clients/typescript/examples/rank-and-reward.ts
//
// Prints one JSON line with what it did and exits 0; on an API error prints the envelope's code,
// message and request_id and exits 1 (test/integration/client-example.test.ts runs it on the local stack).
import { createEdgeClient, EdgeApiError, type Schemas } from '@edge-discovery/client';

const baseUrl = process.env.API_URL ?? 'http://127.0.0.1:8787';
const token = process.env.API_TOKEN;
if (!token) {
  console.error('API_TOKEN is required: a user JWT (npm run token -- <user-uuid>)');
  process.exit(2);
}

// retryOn429: a burst past the caller's rate limit waits out Retry-After (at most 3 tries, 5 s each).
const edge = createEdgeClient({ baseUrl, getToken: () => token, retryOn429: { maxAttempts: 3, maxWaitMs: 5_000 } });

const request: Schemas['RankRequest'] = {
  surface: 'feed',
  limit: 3,
  context: { platform: 'web', locale: 'en' },
  candidates: [{ id: 'post_abc', score: 0.4 }, { id: 'post_def', score: 0.7 }, { id: 'post_ghi', score: 0.1 }, { id: 'post_jkl' }],
};

try {
  const ranked = await edge.POST('/v1/rank', { body: request });
  const first = ranked.slate[0];
  if (!first) throw new Error(`empty slate for decision ${ranked.decision_id}`);
  const reward = await edge.POST('/v1/rewards', {
    body: { decision_id: ranked.decision_id, candidate_id: first.candidate_id, reward: 1, surface: request.surface },
  });
  console.log(
    JSON.stringify({
      ok: true,
      decision_id: ranked.decision_id,
      policy: ranked.policy,
      safe_mode: ranked.safe_mode,
      slate: ranked.slate.map((item) => item.candidate_id),
      rewarded: first.candidate_id,
      accepted: reward.accepted,
    }),
  );
} catch (err) {
  if (err instanceof EdgeApiError) {
    console.error(JSON.stringify({ ok: false, status: err.status, code: err.code, message: err.message, request_id: err.request_id }));
    process.exit(1);
  }
  throw err;
}
