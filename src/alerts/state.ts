// The alert state machine, pure (no I/O), per rule and subject:
//
//   (none) ──breach──▶ pending ──breach held for `for`──▶ firing ──clear──▶ resolved
//                         └──────────clear──────────▶ cancelled (never fired: no page)
//
// With for = 0 a breach fires at once. `for` is what stops flapping: one bad minute does not page.
// A missing measurement (no traffic, subject gone) counts as clear.
export type OpenState = 'pending' | 'firing';
export type AlertState = OpenState | 'resolved' | 'cancelled';

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

/** Is this measurement a breach of the rule? Too few samples or no value: not judged (false). */
export function breaches(rule: RuleCondition, m: Measurement | undefined): boolean {
  if (!m || m.value === null || !Number.isFinite(m.value) || m.samples < rule.minSamples) return false;
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

export type Step =
  | { kind: 'none' } // nothing open, nothing wrong
  | { kind: 'open'; to: OpenState } // new episode (pending, or firing when for = 0)
  | { kind: 'hold' } // still pending / still firing
  | { kind: 'transition'; from: OpenState; to: AlertState };

export function step(open: { state: OpenState; pendingSince: Date } | undefined, breached: boolean, now: Date, forSeconds: number): Step {
  if (!open) {
    if (!breached) return { kind: 'none' };
    return { kind: 'open', to: forSeconds <= 0 ? 'firing' : 'pending' };
  }
  if (!breached) return { kind: 'transition', from: open.state, to: open.state === 'firing' ? 'resolved' : 'cancelled' };
  if (open.state === 'pending' && now.getTime() - open.pendingSince.getTime() >= forSeconds * 1000) {
    return { kind: 'transition', from: 'pending', to: 'firing' };
  }
  return { kind: 'hold' };
}
