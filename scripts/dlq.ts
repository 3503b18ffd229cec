// npm run dlq -- list|redrive|purge …  — the dead-letter queue through the admin API (the same
// path, validation and ai_action_ledger entry as POST /admin/dlq/*). See DLQ_USAGE.
import { ApiCallError, adminCall } from './lib/api-client';
import { DLQ_USAGE, type DlqRequest, dlqRequest } from './lib/dlq-args';
import { fail } from './lib/env';

interface DeadLetter {
  source: string;
  id: string;
  topic: string;
  interest_name: string | null;
  attempts: number;
  last_error: string | null;
  dead_since: string;
}

let req: DlqRequest;
try {
  req = dlqRequest(process.argv.slice(2));
} catch (err) {
  fail(`${(err as Error).message}\n${DLQ_USAGE}`);
}

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
