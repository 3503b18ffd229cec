// Standard Webhooks signing (https://www.standardwebhooks.com) of alert webhooks: HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>" with the key the `whsec_<base64>` secret encodes, sent as
// `webhook-signature: v1,<base64>`. While a secret rotates (ALERT_WEBHOOK_SECRET_NEXT set) every
// delivery carries one signature per secret, space-separated, so a receiver holding either verifies.
// The receiver's side is clients/typescript/src/webhooks.ts.

const PREFIX = 'whsec_';

/** The HMAC key bytes of a `whsec_<base64>` secret, or undefined when it is not one. */
export function secretKeyBytes(secret: string): Uint8Array<ArrayBuffer> | undefined {
  if (!secret.startsWith(PREFIX)) return undefined;
  const b64 = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function toBase64(bytes: ArrayBuffer): string {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

/** `v1,<base64>` for one secret. */
async function signOne(secret: string, content: Uint8Array<ArrayBuffer>): Promise<string> {
  const keyBytes = secretKeyBytes(secret);
  // The config schema admits only valid secrets; this guards a caller that bypassed it.
  if (!keyBytes) throw new Error('webhook secret is not whsec_<base64>');
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `v1,${toBase64(await crypto.subtle.sign('HMAC', key, content))}`;
}

export type SignedHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/**
 * The three Standard Webhooks headers for one attempt. `id` is the delivery's id (the same on every
 * retry); the timestamp is the attempt's own (a retry is signed afresh, so a receiver's 5-minute
 * tolerance holds however long the queue backed off).
 */
export async function signWebhook(opts: { id: string; body: string; secrets: readonly string[]; now?: Date }): Promise<SignedHeaders> {
  const timestamp = String(Math.floor((opts.now ?? new Date()).getTime() / 1000));
  // A copy typed over a plain ArrayBuffer, as WebCrypto's signature in workers-types demands.
  const content = new Uint8Array(new TextEncoder().encode(`${opts.id}.${timestamp}.${opts.body}`));
  const signatures = await Promise.all(opts.secrets.map((s) => signOne(s, content)));
  return { 'webhook-id': opts.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}
