// The two-command promise: `npm run dev` brings the stack up (on free ports, a temp data dir),
// /health answers 200 with db ok, and SIGTERM leaves no Postgres or workerd behind.
import { spawn, execSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/pg-child';

const ROOT = path.resolve(import.meta.dirname, '../..');

function processesMentioning(marker: string): string[] {
  return execSync('ps -eo pid,args', { encoding: 'utf8' }).split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}

describe('npm run dev', () => {
  it('prints the ready line, serves /health, and stops everything on SIGTERM', async () => {
    const [port, pgPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dev-stack-'));
    chmodSync(dataDir, 0o755); // Postgres runs as its own OS user and must reach the data dir inside

    const child = spawn('npm', ['run', 'dev'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), PG_PORT: String(pgPort), NEON_WS_PROXY_PORT: String(proxyPort), PG_DATA_DIR: path.join(dataDir, 'pg'), DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line within 120 s:\n${output}`)), 120_000);
        const check = () => output.includes(`ready http://127.0.0.1:${port}`) && (clearTimeout(timer), resolve());
        child.stdout.on('data', check);
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dev exited ${code}:\n${output}`)); });
      });
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      const body = (await res.json()) as any;
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.checks.db.ok).toBe(true);
      expect(processesMentioning(`-p ${pgPort}`).length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
    // Give the OS a moment to reap grandchildren, then nothing of this stack may remain.
    const deadline = Date.now() + 15_000;
    let left: string[] = [];
    do {
      left = [...processesMentioning(`-p ${pgPort}`), ...processesMentioning(`127.0.0.1:${port}`)];
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    } while (Date.now() < deadline);
    rmSync(dataDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  }, 180_000);
});
