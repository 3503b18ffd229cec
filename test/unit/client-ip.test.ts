// Anonymous callers are limited per IPv4 address and per IPv6 /64, whatever the textual form.
import { describe, expect, it } from 'vitest';
import { ipSubject } from '../../src/ratelimit/client-ip';

describe('ipSubject', () => {
  it('keeps IPv4 addresses as they are', () => {
    expect(ipSubject('198.51.100.7')).toBe('198.51.100.7');
  });

  it('groups IPv6 addresses by /64, however they are compressed', () => {
    const same = ['2001:db8::1', '2001:db8:0:0:1::', '2001:0db8:0000:0000:ffff:0:0:1', '2001:DB8::abcd:1:2:3'];
    expect(new Set(same.map(ipSubject))).toEqual(new Set(['2001:db8:0:0::/64']));
    expect(ipSubject('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(ipSubject('::ffff:192.0.2.1')).toBe('0:0:0:0::/64');
  });

  it('names missing and malformed values instead of trusting them', () => {
    expect(ipSubject(undefined)).toBe('unknown');
    expect(ipSubject('')).toBe('unknown');
    for (const bad of ['1.2.3', 'not-an-ip', '2001:db8::1::2', '2001:db8:1:2:3:4:5:6:7', 'g::1', "1' OR 1=1"]) {
      expect(ipSubject(bad)).toBe('invalid');
    }
  });
});
