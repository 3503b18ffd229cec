// npm run dlq -- list|redrive|purge …  — the dead-letter queue through the admin API (the same
// path, validation and ai_action_ledger entry as POST /admin/dlq/*). See DLQ_USAGE. The target
// API is printed before the request.
import { ApiCallError, adminCall, apiConfig } from './lib/api-client';
import { usageError } from './lib/cli';
import { DLQ_USAGE, type DlqRequest, dlqRequest, wantsHelp } from './lib/dlq-args';
import { fail } from './lib/env';
import { announceApi } from './lib/target';

interface DeadLetter {
  source: string;
  id: string;
  topic: string;
  interest_name: string | null;
  attempts: number;
  last_error: string | null;
  dead_since: string;
}

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  console.log(DLQ_USAGE);
  process.exit(0);
}
let req: DlqRequest;
try {
  req = dlqRequest(argv);
} catch (err) {
  usageError((err as Error).message, DLQ_USAGE);
}
announceApi(apiConfig().baseUrl, req.env);

try {
  const result = await adminCall<unknown>(req.method, req.path, req.body);
  if (req.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const { items, total } = result as { items: DeadLetter[]; total: Record<string, number> };
    console.log(`dead letters: ${total.discovery ?? 0} discovery, ${total.events ?? 0} events (showing ${items.length})`);
    for (const d of items) {
      const what = d.interest_name ? `${d.topic} / ${d.interest_name}` : d.topic;
      console.log(
        `${d.dead_since}  ${d.source.padEnd(9)}  ${d.id.padEnd(36)}  attempts=${d.attempts}  ${what}  ${(d.last_error ?? '').slice(0, 100)}`,
      );
    }
  }
} catch (err) {
  fail(err instanceof ApiCallError ? err.message : (err as Error).message);
}
