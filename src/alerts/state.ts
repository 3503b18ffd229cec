// The alert state machine, pure (no I/O), per rule and subject:
//
//   (none) ──breach──▶ pending ──breach held for `for`──▶ firing ──clear held for `clear_for`──▶ resolved
//                         └──────clear or no data──────▶ cancelled (never fired: no page)
//
// Each evaluation observes one of three things: a breach, clear (a measured value within the
// threshold), or no data (no measurement, no value, or fewer samples than the rule judges).
// `for` stops one bad minute from paging; `clear_for` stops one good minute from resolving (a
// condition that comes back within it continues the same episode: no new page, no new action).
// No data is never "clear": a firing alert stays firing and its clear timer restarts; blindness
// itself is reported by the metrics_stale rule (evaluate.ts), not by turning alerts green.
export type OpenState = 'pending' | 'firing';
export type AlertState = OpenState | 'resolved' | 'cancelled';
export type Observation = 'breach' | 'clear' | 'no_data';

export interface RuleCondition {
  comparator: '>' | '>=' | '<' | '<=';
  threshold: number;
  minSamples: number;
}

export interface Measurement {
  subject: string;
  value: number | null;
  samples: number;
}

/** Does this measurement carry a value at all (the telemetry behind the rule is alive)? */
export function hasValue(m: Measurement | undefined): m is Measurement & { value: number } {
  return m !== undefined && m.value !== null && Number.isFinite(m.value);
}

/** Is this measurement a breach of the rule? Too few samples or no value: not judged (false). */
export function breaches(rule: RuleCondition, m: Measurement | undefined): boolean {
  if (!hasValue(m) || m.samples < rule.minSamples) return false;
  switch (rule.comparator) {
    case '>':
      return m.value > rule.threshold;
    case '>=':
      return m.value >= rule.threshold;
    case '<':
      return m.value < rule.threshold;
    case '<=':
      return m.value <= rule.threshold;
  }
}

/** What one evaluation saw for a subject: a breach, clear (judged and fine), or no data. */
export function observe(rule: RuleCondition, m: Measurement | undefined): Observation {
  if (!hasValue(m) || m.samples < rule.minSamples) return 'no_data';
  return breaches(rule, m) ? 'breach' : 'clear';
}

export type Step =
  | { kind: 'none' } // nothing open, nothing wrong
  | { kind: 'open'; to: OpenState } // new episode (pending, or firing when for = 0)
  | { kind: 'hold'; clearSince?: Date } // still pending / still firing; clearSince: the clear timer runs
  | { kind: 'transition'; from: OpenState; to: AlertState };

export interface OpenAlert {
  state: OpenState;
  pendingSince: Date;
  /** Firing alerts: when the condition was first seen clear (null: breached or no data since). */
  clearSince?: Date | null;
}

/**
 * One evaluation of an open (or absent) episode. `seen` is a boolean for callers that only know
 * breach / not breach (false = clear). With clearForSeconds = 0 a firing alert resolves at the
 * first clear evaluation.
 */
export function step(open: OpenAlert | undefined, seen: Observation | boolean, now: Date, forSeconds: number, clearForSeconds = 0): Step {
  const o: Observation = seen === true ? 'breach' : seen === false ? 'clear' : seen;
  if (!open) return o === 'breach' ? { kind: 'open', to: forSeconds <= 0 ? 'firing' : 'pending' } : { kind: 'none' };
  if (open.state === 'pending') {
    if (o !== 'breach') return { kind: 'transition', from: 'pending', to: 'cancelled' };
    if (now.getTime() - open.pendingSince.getTime() >= forSeconds * 1000) return { kind: 'transition', from: 'pending', to: 'firing' };
    return { kind: 'hold' };
  }
  if (o !== 'clear') return { kind: 'hold' };
  const since = open.clearSince ?? now;
  if (now.getTime() - since.getTime() >= clearForSeconds * 1000) return { kind: 'transition', from: 'firing', to: 'resolved' };
  return { kind: 'hold', clearSince: since };
}
