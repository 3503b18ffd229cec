// The typed client against the local stack (issue 15): `npm run dev` on free ports and a throwaway
// data dir, a user token from `npm run token`, then the example app
// (clients/typescript/examples/rank-and-reward.ts) run as a developer runs it. It must rank, send the
// reward and exit 0; the reward must then reach public.learning_events through the queue. The
// running stack's own /openapi.json must also generate the committed client schema.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCHEMA_FILE, clientSchemaSource, fetchDocument } from '../../scripts/lib/client-types';
import { startDevStack } from '../support/dev-stack';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('the example client app on the local stack', () => {
  it('ranks and rewards through @edge-discovery/client, and the reward is applied', async () => {
    const stack = await startDevStack();
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    try {
      // The stack serves the document the committed client was generated from.
      expect(await clientSchemaSource(await fetchDocument(stack.base)), 'run npm run client:generate').toBe(
        readFileSync(CLIENT_SCHEMA_FILE, 'utf8'),
      );

      const user = randomUUID();
      const token = execFileSync(TSX, ['scripts/token.ts', user], { cwd: ROOT, encoding: 'utf8' }).trim();
      const run = spawnSync(TSX, ['clients/typescript/examples/rank-and-reward.ts'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, API_URL: stack.base, API_TOKEN: token },
        timeout: 60_000,
      });
      expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
      const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      expect(out).toMatchObject({ ok: true, safe_mode: false, accepted: true });
      expect(out.slate).toHaveLength(3);
      expect(['post_abc', 'post_def', 'post_ghi', 'post_jkl']).toEqual(expect.arrayContaining(out.slate));
      expect(out.rewarded).toBe(out.slate[0]);

      // The same app with a token the API refuses: exit 1 and the typed error's fields.
      const refused = spawnSync(TSX, ['clients/typescript/examples/rank-and-reward.ts'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, API_URL: stack.base, API_TOKEN: 'not-a-jwt' },
        timeout: 60_000,
      });
      expect(refused.status, `${refused.stdout}${refused.stderr}`).toBe(1);
      const failure = JSON.parse(refused.stderr.trim().split('\n').at(-1)!);
      expect(failure).toMatchObject({ ok: false, status: 401, code: expect.any(String) });
      expect(failure.request_id).toMatch(/\S/);

      await db.connect();
      const applied = await until('the reward in learning_events', async () => {
        const { rows } = await db.query(
          'SELECT candidate_id, reward FROM public.learning_events WHERE decision_id = $1 AND reward IS NOT NULL',
          [out.decision_id],
        );
        return rows.length > 0 ? rows : undefined;
      });
      expect(applied).toEqual([{ candidate_id: out.rewarded, reward: 1 }]);
    } finally {
      await db.end().catch(() => {});
      await stack.stop();
    }
  }, 300_000);
});
