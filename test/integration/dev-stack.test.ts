// The two commands and the operator tooling end to end, on one local stack (free ports, a temp
// data dir): `npm run dev` reaches its ready line and /health is 200; `npm run smoke` passes every
// step of the guide's §2 and §3; `npm run ops:halt` and the old name `npm run rollback -- --undo`
// (the alias of `ops:resume`, which prints the new names) flip safe mode and the pause switch; the smoke fails, naming the step, when a piece is broken (seed data missing); and
// SIGTERM leaves no Postgres or workerd behind.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { leftoverProcesses, processesMentioning, startDevStack } from '../support/dev-stack';

const ROOT = path.resolve(import.meta.dirname, '../..');

function npmRun(args: string[], env: Record<string, string>) {
  const res = spawnSync('npm', ['run', '--silent', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

/**
 * GET as JSON. A keep-alive socket the dev server closed while idle (the smoke runs take tens of
 * seconds) fails with UND_ERR_SOCKET on reuse; a GET may be retried on a fresh socket, nothing else.
 */
async function getJson(url: string, headers: Record<string, string> = {}): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(url, { headers })).json();
    } catch (err) {
      if (attempt >= 3 || (err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
    }
  }
}

const health = (base: string): Promise<any> => getJson(`${base}/health`);

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('npm run dev, smoke and ops:halt', () => {
  it('runs the stack, passes the smoke test, rolls back and forth, flags a broken piece, stops cleanly', async () => {
    const stack = await startDevStack();
    const { base, pgPort, port, databaseUrl } = stack;
    const tools = { API_URL: base, DATABASE_URL: databaseUrl };
    try {
      const res = await fetch(`${base}/health`);
      const body = (await res.json()) as any;
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.checks.db.ok).toBe(true);
      expect(processesMentioning(`-p ${pgPort}`).length).toBeGreaterThan(0);

      const smoke = npmRun(['smoke', '--', '--url', base], tools);
      expect(smoke.code, smoke.out).toBe(0);
      expect(smoke.out).toMatch(/^13 passed, 0 failed$/m);
      expect(smoke.out).toMatch(/PASS {2}2I discovery through the queue/);
      expect(smoke.out).toMatch(/PASS {2}2F queue worker \(HTTP\) .* errors 0/);

      // Issue 21: the alert rules come with their hints into docs/ONCALL.md.
      const rules = npmRun(['alerts', '--', 'rules'], tools);
      expect(rules.code, rules.out).toBe(0);
      expect(rules.out).toMatch(/^runbook:\n(\s+\w+\s+docs\/ONCALL\.md#\w+: .+\n){7}/m);

      const halt = npmRun(['ops:halt', '--', '--reason', 'e2e'], tools);
      expect(halt.code, halt.out).toBe(0);
      expect(halt.out).toContain(`target: API ${base}`);
      expect(halt.out).toContain('npx wrangler tail --env production --format json');
      await until('safe mode on at the edge', async () => ((await health(base)).safe_mode === true ? true : undefined));
      const paused = await getJson(`${base}/admin/ops/pause`, { authorization: 'Bearer dev-service-role-key' });
      expect(paused.paused).toBe(true);
      // While paused the queue path holds work back, and the smoke says so by name.
      const whilePaused = npmRun(['smoke', '--', '--url', base, '--skip-safe-mode', '--timeout', '8'], tools);
      expect(whilePaused.code).toBe(1);
      expect(whilePaused.out).toMatch(/FAIL {2}2I discovery through the queue .*\n.*ops\.pause_jobs is on/);
      expect(whilePaused.out).toMatch(/^\d+ passed, 1 failed$/m);

      // The old name still works for one release, and says what replaced it.
      const undo = npmRun(['rollback', '--', '--undo'], tools);
      expect(undo.code, undo.out).toBe(0);
      expect(undo.out).toContain('npm run ops:resume');
      await until('safe mode off at the edge', async () => ((await health(base)).safe_mode === false ? true : undefined));

      // Break a piece: the seed candidates are gone. The smoke names the steps that fail.
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      await db.query('DELETE FROM public.marketplace_candidates');
      await db.end();
      const broken = npmRun(['smoke', '--', '--url', base, '--skip-safe-mode', '--timeout', '5'], tools);
      expect(broken.code).toBe(1);
      expect(broken.out).toMatch(/FAIL {2}2D seed data .*\n\s+seed counts 6\/6\/6\/0/);
      expect(broken.out).toMatch(/FAIL {2}2G worker effects/);
      expect(broken.out).toMatch(/^\d+ passed, 2 failed$/m);
    } finally {
      await stack.stop();
    }
    // Give the OS a moment to reap grandchildren, then nothing of this stack may remain.
    const left = await leftoverProcesses([`-p ${pgPort}`, `127.0.0.1:${port}`]);
    expect(left).toEqual([]);
  }, 420_000);
});
