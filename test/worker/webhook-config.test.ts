// ALERT_WEBHOOK_SECRET / _NEXT in the Worker's config schema: only `whsec_<base64>` of 24–64 bytes
// (the Standard Webhooks range) is accepted; a malformed value fails the parse naming its key, so a
// misconfigured deployment fails loudly instead of sending signatures no receiver can check.
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config';

const VECTOR = { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }; // the specification's test vector (24 bytes)
const OTHER = `whsec_${btoa(String.fromCharCode(...new Uint8Array(64).fill(7)))}`; // 64 bytes

describe('ALERT_WEBHOOK_SECRET in the config schema', () => {
  const base = { DATABASE_URL: 'postgres://x', SERVICE_ROLE_KEY: 'service-key-123' };
  it('accepts whsec_ secrets of 24–64 bytes and absent/empty values', () => {
    expect(ConfigSchema.safeParse({ ...base, ALERT_WEBHOOK_SECRET: VECTOR.secret, ALERT_WEBHOOK_SECRET_NEXT: OTHER }).success).toBe(true);
    expect(ConfigSchema.safeParse({ ...base, ALERT_WEBHOOK_SECRET: '' }).success).toBe(true);
  });
  it('refuses other shapes, naming the key', () => {
    for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_c2hvcnQ=', `whsec_${btoa('x'.repeat(65))}`, 'whsec_not base64!']) {
      const r = ConfigSchema.safeParse({ ...base, ALERT_WEBHOOK_SECRET_NEXT: bad });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['ALERT_WEBHOOK_SECRET_NEXT']);
    }
  });
});
