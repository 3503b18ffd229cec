// The anonymous limit lives in two places that cannot read each other at run time: wrangler.toml's
// [[ratelimits]] ANON_RATE_LIMITER (what Cloudflare enforces; bindings are not inherited by
// [env.*], so every environment declares its own) and ANON_LIMIT in src/ratelimit/anonymous.ts
// (what the headers and the fallback budget say). They must agree everywhere, and environments must
// not share a namespace (they would share counters).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANON_BINDING, ANON_LIMIT } from '../../src/ratelimit/limiter-api';

const ROOT = path.resolve(import.meta.dirname, '../..');
interface RateLimitBinding {
  name: string;
  namespace_id: string;
  simple: { limit: number; period: number };
}
interface RawConfig {
  ratelimits?: RateLimitBinding[];
  env?: Record<string, RawConfig>;
}
const wrangler = createRequire(import.meta.url)('wrangler') as {
  experimental_readRawConfig(a: { config: string }): { rawConfig: RawConfig };
};
const config = wrangler.experimental_readRawConfig({ config: path.join(ROOT, 'wrangler.toml') }).rawConfig;

describe('ANON_RATE_LIMITER', () => {
  const envs: [string, RawConfig][] = [['(top level)', config], ...Object.entries(config.env ?? {})];

  it('is declared in every environment with the limit the code reports', () => {
    expect(envs.length).toBeGreaterThan(1);
    for (const [name, env] of envs) {
      const binding = env.ratelimits?.find((r) => r.name === ANON_BINDING);
      expect(binding, name).toBeDefined();
      expect(binding!.simple, name).toEqual({ limit: ANON_LIMIT.max, period: ANON_LIMIT.windowSec });
      expect([10, 60], name).toContain(binding!.simple.period);
      expect(binding!.namespace_id, name).toMatch(/^[1-9]\d*$/);
    }
    expect(new Set(envs.map(([, env]) => env.ratelimits?.find((r) => r.name === ANON_BINDING)?.namespace_id)).size).toBe(envs.length);
  });

  it("matches the seed's anon class default (what GET /admin/rate-limits shows for anon)", () => {
    const seed = readFileSync(path.join(ROOT, 'seeds/0400_rate_limits.sql'), 'utf8');
    expect(seed).toMatch(new RegExp(`\\('anon',\\s+NULL,\\s+${ANON_LIMIT.max},\\s+${ANON_LIMIT.windowSec}\\)`));
  });
});
