// The receiver's check (clients/typescript/src/webhooks.ts) against the Standard Webhooks
// specification's published test vector and against the Worker's own signer
// (src/alerts/webhook-signature.ts): tampered bodies, wrong secrets, stale or future timestamps and
// missing headers are refused; a rotation's two signatures verify with either secret. The real
// delivery from a running Worker: test/integration/alert-webhook-signed.test.ts.
import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../clients/typescript/src/webhooks';
import { signWebhook } from '../../src/alerts/webhook-signature';

// The specification's test vector (also used by its reference libraries).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const OTHER = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const at = new Date(VECTOR.timestamp * 1000);

describe('the Worker signs as the specification does', () => {
  it('reproduces the published signature', async () => {
    const h = await signWebhook({ id: VECTOR.id, body: VECTOR.body, secrets: [VECTOR.secret], now: at });
    expect(h).toEqual({ 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature });
  });

  it('two secrets give two space-separated signatures, current first', async () => {
    const h = await signWebhook({ id: VECTOR.id, body: VECTOR.body, secrets: [VECTOR.secret, OTHER], now: at });
    const parts = h['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(VECTOR.signature);
    expect(parts[1]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(parts[1]).not.toBe(VECTOR.signature);
  });
});

describe('verifyWebhook', () => {
  const headers = (over: Record<string, string | undefined> = {}) => ({
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': VECTOR.signature,
    ...over,
  });

  it('accepts the vector (Headers object, plain record, bytes body, a bare base64 secret)', async () => {
    expect(await verifyWebhook({ secret: VECTOR.secret, headers: new Headers(headers()), body: VECTOR.body, now: at })).toEqual({
      valid: true,
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
    });
    const bytes = new TextEncoder().encode(VECTOR.body);
    expect((await verifyWebhook({ secret: VECTOR.secret, headers: headers(), body: bytes, now: at })).valid).toBe(true);
    const bare = VECTOR.secret.slice('whsec_'.length);
    expect((await verifyWebhook({ secret: bare, headers: headers(), body: VECTOR.body, now: at })).valid).toBe(true);
  });

  it('refuses a tampered body, id or timestamp', async () => {
    const tampered = await verifyWebhook({ secret: VECTOR.secret, headers: headers(), body: '{"test": 2432232315}', now: at });
    expect(tampered).toEqual({ valid: false, reason: 'no_matching_signature' });
    const id = await verifyWebhook({ secret: VECTOR.secret, headers: headers({ 'webhook-id': 'msg_other' }), body: VECTOR.body, now: at });
    expect(id).toEqual({ valid: false, reason: 'no_matching_signature' });
    const ts = String(VECTOR.timestamp + 1);
    const moved = await verifyWebhook({ secret: VECTOR.secret, headers: headers({ 'webhook-timestamp': ts }), body: VECTOR.body, now: at });
    expect(moved).toEqual({ valid: false, reason: 'no_matching_signature' });
  });

  it('refuses a wrong secret', async () => {
    expect(await verifyWebhook({ secret: OTHER, headers: headers(), body: VECTOR.body, now: at })).toEqual({
      valid: false,
      reason: 'no_matching_signature',
    });
    expect((await verifyWebhook({ secret: 'whsec_not base64!', headers: headers(), body: VECTOR.body, now: at })).valid).toBe(false);
  });

  it('refuses timestamps more than 5 minutes old or ahead (the tolerance is a parameter)', async () => {
    const base = { secret: VECTOR.secret, headers: headers(), body: VECTOR.body };
    const plus = (s: number) => new Date((VECTOR.timestamp + s) * 1000);
    expect((await verifyWebhook({ ...base, now: plus(300) })).valid).toBe(true);
    expect(await verifyWebhook({ ...base, now: plus(301) })).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
    expect(await verifyWebhook({ ...base, now: plus(-301) })).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
    expect((await verifyWebhook({ ...base, now: plus(3600), toleranceSeconds: 3600 })).valid).toBe(true);
    // The vector's own timestamp is years old: verified against the real clock it is refused.
    expect(await verifyWebhook(base)).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
  });

  it('refuses missing headers and a malformed timestamp', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const r = await verifyWebhook({ secret: VECTOR.secret, headers: headers({ [name]: undefined }), body: VECTOR.body, now: at });
      expect(r).toEqual({ valid: false, reason: 'missing_headers' });
    }
    const r = await verifyWebhook({ secret: VECTOR.secret, headers: headers({ 'webhook-timestamp': '1e9' }), body: VECTOR.body, now: at });
    expect(r).toEqual({ valid: false, reason: 'bad_timestamp' });
  });

  it('rotation: a header with both signatures verifies with either secret, not with a third', async () => {
    const signed = await signWebhook({ id: 'a1:firing', body: '{"x":1}', secrets: [VECTOR.secret, OTHER] });
    for (const secret of [VECTOR.secret, OTHER, [OTHER, VECTOR.secret]]) {
      expect((await verifyWebhook({ secret, headers: signed, body: '{"x":1}' })).valid).toBe(true);
    }
    const third = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect((await verifyWebhook({ secret: third, headers: signed, body: '{"x":1}' })).valid).toBe(false);
    // Entries of another version are skipped, not mistaken for v1.
    const v2 = { ...signed, 'webhook-signature': signed['webhook-signature'].replaceAll('v1,', 'v2,') };
    expect((await verifyWebhook({ secret: VECTOR.secret, headers: v2, body: '{"x":1}' })).valid).toBe(false);
  });
});
