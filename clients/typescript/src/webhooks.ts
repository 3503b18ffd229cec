// Verifying the platform's alert webhooks (Standard Webhooks, https://www.standardwebhooks.com) in a
// receiver: browsers, Node ≥ 20, Deno and Workers (WebCrypto and TextEncoder only, no dependency).
//
//   const ok = await verifyWebhook({ secret: process.env.ALERT_WEBHOOK_SECRET!, headers: req.headers, body: rawBody });
//   if (!ok.valid) return new Response(ok.reason, { status: 401 });
//
// Pass the raw body exactly as received (not JSON.parse + stringify: the signature covers the bytes).
// The check: all three headers present; webhook-timestamp within `toleranceSeconds` (default 300)
// of now, either direction (replays); any `v1,<base64>` entry of webhook-signature equal, in
// constant time, to HMAC-SHA256(key, "<id>.<timestamp>.<body>"), key = base64-decoded part of
// `whsec_<base64>`. During a sender's secret rotation the header carries one signature per secret.

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export type VerifyResult =
  | { valid: true; id: string; timestamp: number }
  | { valid: false; reason: 'missing_headers' | 'bad_secret' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'no_matching_signature' };

export interface VerifyOptions {
  /** One secret, or several (the receiver's own rotation): any of them may match. */
  secret: string | readonly string[];
  headers: WebhookHeaders;
  /** The raw request body (string or bytes). */
  body: string | Uint8Array;
  toleranceSeconds?: number;
  /** The clock (tests). */
  now?: Date;
}

function header(h: WebhookHeaders, name: string): string | undefined {
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const rec = h as Record<string, string | string[] | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : rec[key];
  return Array.isArray(v) ? v[0] : v;
}

function fromBase64(b64: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The HMAC key of a `whsec_<base64>` secret (a bare base64 secret is accepted too). */
function keyOf(secret: string): Uint8Array<ArrayBuffer> | undefined {
  return fromBase64(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
}

/** Constant time in the length of `a` (both are 32-byte MACs here; a length mismatch fails). */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

export async function verifyWebhook(opts: VerifyOptions): Promise<VerifyResult> {
  const id = header(opts.headers, 'webhook-id');
  const ts = header(opts.headers, 'webhook-timestamp');
  const sig = header(opts.headers, 'webhook-signature');
  if (!id || !ts || !sig) return { valid: false, reason: 'missing_headers' };
  const keys = (typeof opts.secret === 'string' ? [opts.secret] : [...opts.secret]).map(keyOf);
  if (keys.length === 0 || keys.some((k) => !k || k.length === 0)) return { valid: false, reason: 'bad_secret' };
  if (!/^\d{1,12}$/.test(ts)) return { valid: false, reason: 'bad_timestamp' };
  const timestamp = Number(ts);
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (opts.toleranceSeconds ?? 300)) return { valid: false, reason: 'timestamp_out_of_tolerance' };

  const enc = new TextEncoder();
  const body: Uint8Array = typeof opts.body === 'string' ? enc.encode(opts.body) : opts.body;
  const prefix = enc.encode(`${id}.${ts}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  // Every `v1,` entry; other versions (a future asymmetric v1a) are skipped, not errors.
  const given = sig
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => fromBase64(s.slice(3)))
    .filter((b): b is Uint8Array<ArrayBuffer> => b !== undefined);
  for (const k of keys) {
    // `k` is defined: a secret that did not decode returned 'bad_secret' above.
    const key = await crypto.subtle.importKey('raw', k!, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const expected = new Uint8Array(await crypto.subtle.sign('HMAC', key, content));
    // Compare against every entry (no early exit) so timing does not reveal which one matched.
    let match = false;
    for (const g of given) match = equalBytes(expected, g) || match;
    if (match) return { valid: true, id, timestamp };
  }
  return { valid: false, reason: 'no_matching_signature' };
}
