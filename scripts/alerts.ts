// npm run alerts -- <command>: alert rules and episodes through the admin API (same path, same
// validation and ledger entries as any API call; the ledger actor is "cli").
//   npm run alerts                                   open alerts (pending and firing), with their runbook hints
//   npm run alerts -- history [limit]                every episode, newest first
//   npm run alerts -- rules                          the rules, with their runbook hints
//   npm run alerts -- silence <rule> <minutes> [reason…]   notifications off for a while
//   npm run alerts -- unsilence <rule>
//   npm run alerts -- set <rule> key=value…          threshold= for_seconds= min_samples= severity=
//                                                    action=notify|safe_mode enabled=true|false [reason=…]
//   npm run alerts -- eval [rule…]                   evaluate now (what the per-minute cron does)
// API_URL and SERVICE_ROLE_KEY as for every CLI script (scripts/lib/api-client.ts); the target is
// printed before the first call. Each rule's runbook hint points into docs/ONCALL.md.
import { adminCall, apiConfig } from './lib/api-client';
import { parseCli, usageError } from './lib/cli';
import { fail } from './lib/env';
import { announceApi } from './lib/target';

const USAGE = `usage:
  npm run alerts                                    open alerts, with their runbook hints
  npm run alerts -- history [limit]                 every episode, newest first
  npm run alerts -- rules                           the rules, with their runbook hints
  npm run alerts -- silence <rule> <minutes> [reason…]
  npm run alerts -- unsilence <rule>
  npm run alerts -- set <rule> key=value…           threshold= for_seconds= min_samples= severity= action=notify|safe_mode enabled=true|false reason=…
  npm run alerts -- eval [rule…]                    evaluate now (what the per-minute cron does)
options: --env staging|production (refuses a local API_URL), --help
API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY (default: .dev.vars) select the deployment.`;

const { values, positionals } = parseCli({ allowPositionals: true, options: { env: { type: 'string' } } }, USAGE);

type Row = Record<string, unknown>;

function table(rows: Row[], cols: string[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  console.table(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]]))));
}

/** Each rule's runbook hint once (where to look: a section of docs/ONCALL.md). */
function hints(rows: Row[], idKey: string): void {
  const seen = new Map<string, unknown>();
  for (const r of rows) if (r.runbook && !seen.has(String(r[idKey]))) seen.set(String(r[idKey]), r.runbook);
  if (seen.size === 0) return;
  console.log('runbook:');
  const width = Math.max(...[...seen.keys()].map((k) => k.length));
  for (const [id, hint] of seen) console.log(`  ${id.padEnd(width)}  ${hint}`);
}

function parseValue(key: string, raw: string): unknown {
  if (['threshold', 'for_seconds', 'min_samples', 'clear_for_seconds', 'action_cooldown_seconds'].includes(key)) {
    const n = Number(raw);
    if (!Number.isFinite(n)) fail(`${key} must be a number`);
    return n;
  }
  if (key === 'enabled') return raw === 'true';
  // Issue 20: "none" turns the blindness watch off / lets the action act on every subject.
  if (key === 'no_data_seconds') return raw === 'none' ? null : Number(raw);
  if (key === 'action_subjects') return raw === 'none' ? null : raw.split(',');
  return raw;
}

async function main(): Promise<void> {
  const [cmd = 'open', ...args] = positionals;
  if (!['open', 'history', 'rules', 'silence', 'unsilence', 'set', 'eval'].includes(cmd)) usageError(`unknown command "${cmd}"`, USAGE);
  announceApi(apiConfig().baseUrl, values.env);
  switch (cmd) {
    case 'open':
    case 'history': {
      const limit = cmd === 'history' ? Number(args[0] ?? 50) : 200;
      const { alerts } = await adminCall<{ alerts: Row[] }>('GET', `/admin/alerts?state=${cmd === 'open' ? 'open' : 'all'}&limit=${limit}`);
      table(alerts, [
        'id',
        'state',
        'rule_id',
        'subject',
        'last_value',
        'threshold',
        'pending_since',
        'fired_at',
        'resolved_at',
        'action_result',
      ]);
      return hints(alerts, 'rule_id');
    }
    case 'rules': {
      const { rules } = await adminCall<{ rules: Row[] }>('GET', '/admin/alert-rules');
      table(rules, [
        'id',
        'metric',
        'subject',
        'comparator',
        'threshold',
        'for_seconds',
        'min_samples',
        'severity',
        'action',
        'enabled',
        'silenced_until',
      ]);
      return hints(rules, 'id');
    }
    case 'silence':
    case 'unsilence': {
      const [rule, minutes, ...reason] = args;
      if (!rule || (cmd === 'silence' && !minutes)) usageError(`${cmd} needs <rule>${cmd === 'silence' ? ' and <minutes>' : ''}`, USAGE);
      const body = { silence_minutes: cmd === 'silence' ? Number(minutes) : 0, reason: reason.join(' ') || undefined };
      const { rule: r } = await adminCall<{ rule: Row }>('PATCH', `/admin/alert-rules/${rule}`, body);
      return console.log(`${r.id}: silenced until ${r.silenced_until ?? '(not silenced)'}`);
    }
    case 'set': {
      const [rule, ...pairs] = args;
      if (!rule || pairs.length === 0) usageError('set needs <rule> and key=value…', USAGE);
      const body = Object.fromEntries(
        pairs.map((p) => {
          const [k, ...v] = p.split('=');
          return [k!, parseValue(k!, v.join('='))];
        }),
      );
      const { rule: r } = await adminCall<{ rule: Row }>('PATCH', `/admin/alert-rules/${rule}`, body);
      return table([r], ['id', 'comparator', 'threshold', 'for_seconds', 'min_samples', 'severity', 'action', 'enabled', 'silenced_until']);
    }
    case 'eval': {
      const result = await adminCall<{ transitions: Row[]; actions: Row[]; errors: Row[] }>(
        'POST',
        '/admin/alerts/evaluate',
        args.length ? { rule_ids: args } : {},
      );
      table(result.transitions, ['alert_id', 'rule_id', 'subject', 'from', 'to', 'value', 'threshold']);
      if (result.actions.length) table(result.actions, ['alert_id', 'rule_id', 'result']);
      if (result.errors.length) table(result.errors, ['rule_id', 'error']);
      return;
    }
  }
}

main().catch((err) => fail((err as Error).message));
