// `npm run dev` as a developer runs it, on ports the OS says are free and a throwaway data dir,
// for the integration tests that drive the whole local stack from the outside.
import { execSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/lib/pg-child';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface DevStack {
  base: string;
  port: number;
  pgPort: number;
  /** The embedded Postgres (or the DATABASE_URL the stack was given). */
  databaseUrl: string;
  /** Everything the stack printed so far: its own lines, wrangler's, the Worker's JSON logs. */
  output(): string;
  /** SIGTERM, as Ctrl-C would; resolves when `npm run dev` has exited. Removes the data dir. */
  stop(): Promise<void>;
}

/** Lines of `ps` that mention `marker` (a port, say): what of a stack is still running. */
export function processesMentioning(marker: string): string[] {
  return execSync('ps -eo pid,args', { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}

/** Waits (up to `ms`) for the OS to reap a stopped stack; what still mentions a marker after that. */
export async function leftoverProcesses(markers: string[], ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = markers.flatMap(processesMentioning);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Origins of the stacks this process started: the integration project's contract check
 * (test/integration/contract-setup.ts) validates every response the tests fetch from them.
 */
export const stackOrigins = new Set<string>();

export async function startDevStack(
  opts: { args?: string[]; env?: Record<string, string>; readyTimeoutMs?: number } = {},
): Promise<DevStack> {
  const [port, pgPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dev-stack-'));
  chmodSync(dataDir, 0o755); // Postgres runs as its own OS user and must reach the data dir inside
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    PORT: String(port),
    PG_PORT: String(pgPort),
    NEON_WS_PROXY_PORT: String(proxyPort),
    PG_DATA_DIR: path.join(dataDir, 'pg'),
    DEV_STATE_DIR: path.join(dataDir, 'wrangler'),
    DATABASE_URL: '',
    ...opts.env,
  };
  const databaseUrl = env.DATABASE_URL || `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`;
  const child = spawn('npm', ['run', 'dev', ...(opts.args?.length ? ['--', ...opts.args] : [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const ms = opts.readyTimeoutMs ?? 120_000;
      const timer = setTimeout(() => reject(new Error(`no ready line within ${ms / 1000} s:\n${output}`)), ms);
      const check = () => {
        if (!output.includes(`ready ${base}`)) return;
        clearTimeout(timer);
        resolve();
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dev exited ${code}:\n${output}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  stackOrigins.add(base);
  return { base, port, pgPort, databaseUrl, output: () => output, stop };
}
