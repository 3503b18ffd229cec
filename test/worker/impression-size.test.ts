// No decision can be too big for one queue message: at the maximum of every input bound of
// POST /v1/rank at once (slate 100, 1,000 candidates with ids of 128 UTF-16 units, a context of
// 2,048 UTF-8 bytes, a 64-character surface), in the scripts that weigh most per character (CJK
// 3 bytes, emoji 4 bytes per 2 units, control characters and lone surrogates 6 bytes as JSON
// escapes, quotes and backslashes 2), the request passes the route's own schema, the real ranker
// decides, the real message builder and envelope encode it, and its UTF-8 size stays within the
// analytic bound (maxDecisionMessageBytes) and the 127,000-byte message body.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RankRequest } from '../../src/handlers/rank';
import { impressionsEnvelope } from '../../src/learning/impression-sender';
import { DECISION_BOUNDS, ImpressionsMessage, impressionsMessage, maxDecisionMessageBytes } from '../../src/learning/messages';
import { MAX_MESSAGE_BODY_BYTES } from '../../src/queues/queue-limits';
import { rank } from '../../src/ranker';
import { jsonBytes, utf8Bytes } from '../../src/util/utf8';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCodePoint(from + i));
const controls = range(0x00, 0x1f);
/** Symbols a script is written in (an emoji is one symbol of two UTF-16 units). */
const SCRIPTS: Record<string, string[]> = {
  cjk: range(0x4e00, 0x4e00 + 2_000),
  emoji: range(0x1f600, 0x1f64f),
  control: controls,
  escapes: [...controls, '"', '\\'],
  // Low surrogates alone never pair up: each stays lone and JSON writes it as \udcXX (6 bytes).
  loneSurrogate: Array.from({ length: 0x400 }, (_, i) => String.fromCharCode(0xdc00 + i)),
};
SCRIPTS.mixed = [...SCRIPTS.cjk!.slice(0, 200), ...SCRIPTS.emoji!, ...SCRIPTS.escapes!, ...SCRIPTS.loneSurrogate!.slice(0, 200)];

/** A small deterministic generator: fast-check picks the seed, the strings follow from it. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A string of exactly `units` UTF-16 units (or one less, when a two-unit symbol would not fit), distinct per k. */
function maxString(alphabet: string[], units: number, k: number, rnd: () => number): string {
  const out: string[] = [];
  let used = 0;
  // The first symbols spell k in base |alphabet|: 1,000 distinct ids even from a 34-symbol alphabet.
  for (let v = k, i = 0; i < 3; i++, v = Math.floor(v / alphabet.length)) {
    const s = alphabet[v % alphabet.length]!;
    out.push(s);
    used += s.length;
  }
  for (;;) {
    const s = alphabet[Math.floor(rnd() * alphabet.length)]!;
    if (used + s.length > units) break;
    out.push(s);
    used += s.length;
  }
  return out.join('');
}

/** A context whose JSON is as close to the byte bound as the script allows. */
function maxContext(alphabet: string[], rnd: () => number): Record<string, unknown> {
  let text = '';
  let size = utf8Bytes(JSON.stringify({ note: '' }));
  for (let misses = 0; misses < 20; ) {
    const s = alphabet[Math.floor(rnd() * alphabet.length)]!;
    const add = utf8Bytes(JSON.stringify(s)) - 2;
    if (size + add > DECISION_BOUNDS.contextBytes) {
      misses++;
      continue;
    }
    text += s;
    size += add;
  }
  return { note: text };
}

describe('the size of one decision as a queue message', () => {
  it('the analytic worst case fits one message body, with its envelope', () => {
    const worst = maxDecisionMessageBytes();
    const envelope = jsonBytes(impressionsEnvelope([]));
    expect(worst + envelope).toBeLessThanOrEqual(MAX_MESSAGE_BODY_BYTES);
    expect(worst).toBeGreaterThan(100_000); // the bound is the real worst case, not a loose guess
  });

  it('at the maximum input bounds in multi-byte scripts the encoded message stays within the bound', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(SCRIPTS)),
        fc.oneof(fc.constant(DECISION_BOUNDS.slate), fc.constant(1_000), fc.integer({ min: DECISION_BOUNDS.slate, max: 1_000 })),
        fc.integer(),
        fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
        fc.boolean(),
        (script, n, seed, epsilon, safeMode) => {
          const alphabet = SCRIPTS[script]!;
          const rnd = prng(seed);
          const body = {
            surface: 'S'.repeat(64),
            limit: DECISION_BOUNDS.slate,
            context: maxContext(alphabet, rnd),
            candidates: Array.from({ length: n }, (_, k) => ({
              id: maxString(alphabet, DECISION_BOUNDS.candidateIdUnits, k, rnd),
              // Long decimal expansions: scores and the estimates derived from them print at full length.
              score: -1.2345678901234567e-6 * (1 + rnd()),
            })),
          };
          const parsed = RankRequest.safeParse(body);
          if (!parsed.success) throw new Error(`the route refuses the generated request: ${parsed.error.issues[0]?.message}`);
          const decision = rank({
            decisionId: crypto.randomUUID(),
            limit: parsed.data.limit,
            policy: { version: 'epsilon_greedy_v1', epsilon },
            safeMode,
            candidates: parsed.data.candidates,
            features: {},
          });
          expect(decision.items).toHaveLength(DECISION_BOUNDS.slate);
          const msg = impressionsMessage(decision, {
            userId: crypto.randomUUID(),
            surface: parsed.data.surface,
            context: parsed.data.context ?? {},
            ts: new Date().toISOString(),
          });
          expect(ImpressionsMessage.safeParse(msg).success).toBe(true); // the consumer accepts it
          const json = JSON.stringify(impressionsEnvelope([msg]));
          const bytes = new TextEncoder().encode(json).length; // the runtime's own UTF-8 encoder
          expect(utf8Bytes(json)).toBe(bytes);
          expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BODY_BYTES);
          expect(jsonBytes(msg)).toBeLessThanOrEqual(maxDecisionMessageBytes());
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the route counts the context in UTF-8 bytes: 683 CJK characters (2,049+ bytes) are refused', () => {
    const ok = RankRequest.safeParse({ surface: 'feed', context: { n: '中'.repeat(675) } });
    const tooBig = RankRequest.safeParse({ surface: 'feed', context: { n: '中'.repeat(683) } });
    expect(ok.success).toBe(true);
    expect(tooBig.success).toBe(false);
    expect(tooBig.error?.issues[0]?.message).toContain('2048 bytes of JSON (UTF-8)');
  });
});
