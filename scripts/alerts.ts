// npm run alerts -- <command>: alert rules and episodes through the admin API (same path, same
// validation and ledger entries as any API call; the ledger actor is "cli").
//   npm run alerts                                   open alerts (pending and firing)
//   npm run alerts -- history [limit]                every episode, newest first
//   npm run alerts -- rules                          the rules
//   npm run alerts -- silence <rule> <minutes> [reason…]   notifications off for a while
//   npm run alerts -- unsilence <rule>
//   npm run alerts -- set <rule> key=value…          threshold= for_seconds= min_samples= severity=
//                                                    action=notify|safe_mode enabled=true|false [reason=…]
//   npm run alerts -- eval [rule…]                   evaluate now (what the per-minute cron does)
// API_URL and SERVICE_ROLE_KEY as for every CLI script (scripts/lib/api-client.ts).
import { adminCall } from './lib/api-client';
import { fail } from './lib/env';

type Row = Record<string, unknown>;

function table(rows: Row[], cols: string[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  console.table(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]]))));
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
  const [cmd = 'open', ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'open':
    case 'history': {
      const limit = cmd === 'history' ? Number(args[0] ?? 50) : 200;
      const { alerts } = await adminCall<{ alerts: Row[] }>('GET', `/admin/alerts?state=${cmd === 'open' ? 'open' : 'all'}&limit=${limit}`);
      return table(alerts, [
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
    }
    case 'rules': {
      const { rules } = await adminCall<{ rules: Row[] }>('GET', '/admin/alert-rules');
      return table(rules, [
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
    }
    case 'silence':
    case 'unsilence': {
      const [rule, minutes, ...reason] = args;
      if (!rule || (cmd === 'silence' && !minutes))
        fail(`usage: npm run alerts -- ${cmd} <rule>${cmd === 'silence' ? ' <minutes> [reason]' : ''}`);
      const body = { silence_minutes: cmd === 'silence' ? Number(minutes) : 0, reason: reason.join(' ') || undefined };
      const { rule: r } = await adminCall<{ rule: Row }>('PATCH', `/admin/alert-rules/${rule}`, body);
      return console.log(`${r.id}: silenced until ${r.silenced_until ?? '(not silenced)'}`);
    }
    case 'set': {
      const [rule, ...pairs] = args;
      if (!rule || pairs.length === 0) fail('usage: npm run alerts -- set <rule> key=value…');
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
    default:
      fail(`unknown command "${cmd}" (open, history, rules, silence, unsilence, set, eval)`);
  }
}

main().catch((err) => fail((err as Error).message));
