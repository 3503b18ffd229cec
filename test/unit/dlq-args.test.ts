// `npm run dlq` turns its arguments into exactly one admin API request.
import { describe, expect, it } from 'vitest';
import { dlqRequest, parseDuration } from '../../scripts/lib/dlq-args';

describe('npm run dlq arguments', () => {
  it('list → GET /admin/dlq with the filters', () => {
    expect(dlqRequest(['list'])).toEqual({ method: 'GET', path: '/admin/dlq', json: false });
    expect(dlqRequest(['list', '--source', 'discovery', '--limit', '10', '--json'])).toEqual({
      method: 'GET',
      path: '/admin/dlq?source=discovery&limit=10',
      json: true,
    });
  });

  it('redrive and purge → POST with ids or all, source, age and reason', () => {
    expect(dlqRequest(['redrive', '--id', 'a', '--id', '42', '--reason', 'fixed'])).toEqual({
      method: 'POST',
      path: '/admin/dlq/redrive',
      body: { ids: ['a', '42'], reason: 'fixed' },
      json: true,
    });
    expect(dlqRequest(['purge', '--all', '--source', 'events', '--older-than', '7d'])).toEqual({
      method: 'POST',
      path: '/admin/dlq/purge',
      body: { all: true, source: 'events', older_than_seconds: 604_800 },
      json: true,
    });
  });

  it('refuses ambiguous or incomplete commands', () => {
    expect(() => dlqRequest(['purge'])).toThrow(/--id <id> \(repeatable\) or --all/);
    expect(() => dlqRequest(['purge', '--all', '--id', 'x'])).toThrow(/exclude each other/);
    expect(() => dlqRequest(['list', '--source', 'nope'])).toThrow(/--source/);
    expect(() => dlqRequest(['explode'])).toThrow(/unknown command/);
    expect(() => dlqRequest([])).toThrow(/command is required/);
  });

  it('reads durations in seconds, minutes, hours and days', () => {
    expect([parseDuration('90'), parseDuration('15m'), parseDuration('6h'), parseDuration('2d')]).toEqual([90, 900, 21_600, 172_800]);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });
});
