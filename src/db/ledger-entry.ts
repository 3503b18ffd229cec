// One ai_action_ledger row as the code writes it. Its own module without imports, so pure code
// (e.g. the flag merge in src/flags/merge.ts, unit-tested in Node) can build entries.
export interface LedgerEntry {
  /** Who acted: 'api:service', 'cli', 'sql', 'kv', 'cron:<job>', 'alert:<rule>', a user id… */
  actor: string;
  /** What was done, dotted: 'flag.set', 'flag.sync', 'dlq.redrive', 'safe_mode.auto_on'… */
  action: string;
  target?: string;
  oldValue?: unknown;
  newValue?: unknown;
  reason?: string;
  requestId?: string;
  metadata?: Record<string, unknown>;
}
