// Three projects share one throwaway Postgres started by the global setup:
//   unit        pure code in Node
//   integration real PostgreSQL through `pg` (the guide's SQL, verbatim)
//   worker      the Worker inside workerd (real KV, Queues, Durable Objects) via cloudflareTest()
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export const TEST_SERVICE_KEY = 'test-service-role-key';
export const TEST_JWT_SECRET = 'test-jwt-secret';
export const TEST_CORS_ORIGIN = 'https://app.example.test';
export const TEST_FAULT_KEY = 'test-fault-injection-key';

/**
 * Every package the Worker and its tests import, by the exact specifier used (hono, hono/cookie, …),
 * plus the JSX runtime the compiler adds. The worker project pre-bundles them (deps.optimizer): each
 * test file loads the Worker's module graph afresh inside workerd, and one module per package instead
 * of hundreds (zod, hono, drizzle) made that import ~40% cheaper. Read from the sources, not listed by
 * hand: a subpath left out would load a second copy of its package beside the bundled one, and
 * `instanceof` across the two copies fails (an HTTPException no longer recognised, for one).
 */
function importedPackages(dirs: string[]): string[] {
  const found = new Set(['hono/jsx/jsx-runtime', 'hono/jsx/jsx-dev-runtime']);
  const files = dirs.flatMap((dir) =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.tsx?$/.test(f))
      .map((f) => path.join(dir, f)),
  );
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^'.][^']*)'/g)) {
      // @openfeature/server-sdk imports Node built-ins (async_hooks, node:events) the pre-bundler cannot
      // resolve; workerd provides them (nodejs_compat), so it is loaded as it is.
      if (!/^(node:|cloudflare:|vitest|@openfeature\/)/.test(m[1]!)) found.add(m[1]!);
    }
  }
  return [...found].sort();
}

export default defineConfig({
  // CI runs the suite under two Node versions side by side: each pre-bundles into a cache of its own.
  cacheDir: `node_modules/.vite/node${process.versions.node.split('.')[0]}`,
  test: {
    globalSetup: ['test/setup/global-setup.ts'],
    // The Worker logs one JSON line per request; show them only for tests that fail.
    silent: 'passed-only',
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Responses fetched from a local stack are checked against the OpenAPI document.
          setupFiles: ['test/integration/contract-setup.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                APP_ENV: 'development',
                DATABASE_URL: inject('databaseUrl'),
                NEON_WS_PROXY_PORT: String(inject('wsProxyPort')),
                SERVICE_ROLE_KEY: TEST_SERVICE_KEY,
                SERVICE_ROLE_KEY_NEXT: '',
                AUTH_JWT_SECRET: TEST_JWT_SECRET,
                AUTH_JWKS_URL: '',
                AUTH_ISSUER: '',
                AUTH_AUDIENCE: '',
                ALERT_WEBHOOK_URL: '',
                AUTH_JWT_SECRET_NEXT: '',
                CORS_ORIGINS: TEST_CORS_ORIGIN,
                RATE_LIMITS: 'on',
                // Scale of the hostile-input property test (test/worker/fuzz-routes.test.ts).
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
                // Discovery retries in seconds rather than minutes, and its test-only fault
                // injection (ignored in production; see src/discovery/config.ts).
                DISCOVERY_RETRY_BASE_SECONDS: '1',
                DISCOVERY_RETRY_CAP_SECONDS: '2',
                DISCOVERY_FAULT_INJECTION: 'on',
                // Observability: ship request metrics at the end of each request (0: no timer that
                // waitOnExecutionContext or fake timers would wait for; deployments aggregate 10 s
                // slices) and enable the test-only fault injection hook (APP_ENV is development here).
                METRICS_FLUSH_MS: '0',
                // Learning impressions leave at once in tests (one message per decision); the batching
                // window is exercised explicitly in rank-batching.test.ts.
                LEARNING_FLUSH_MS: '0',
                FAULT_INJECTION_KEY: TEST_FAULT_KEY,
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          // After each file: the responses its tests saw through `call` must match /openapi.json.
          setupFiles: ['test/worker/contract-setup.ts'],
          testTimeout: 30_000,
          deps: { optimizer: { ssr: { enabled: true, include: importedPackages(['src', 'test/worker']) } } },
        },
      },
    ],
  },
});
