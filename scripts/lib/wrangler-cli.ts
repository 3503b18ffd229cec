// Runs wrangler for the deploy scripts: by name from PATH (npm puts node_modules/.bin there; tests
// put a fake wrangler first), non-interactive, with machine-readable output read from
// WRANGLER_OUTPUT_FILE_PATH. With dryRun, prints each invocation instead of running it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface WranglerRun {
  stdout: string;
  /** Entries wrangler wrote to its output file (one JSON object per line). */
  outputs: Record<string, unknown>[];
}

export interface WranglerOptions {
  dryRun?: boolean;
  /** Where dry-run lines and progress go (default stdout). */
  print?: (line: string) => void;
}

export function formatInvocation(args: string[]): string {
  return ['wrangler', ...args].map((a) => (/^[\w@%./:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function runWrangler(args: string[], opts: WranglerOptions = {}): WranglerRun {
  const print = opts.print ?? ((l: string) => console.log(l));
  if (opts.dryRun) {
    print(`[dry-run] ${formatInvocation(args)}`);
    return { stdout: '', outputs: [] };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wrangler-out-'));
  const outFile = path.join(dir, 'output.ndjson');
  try {
    const res = spawnSync('wrangler', args, {
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_OUTPUT_FILE_PATH: outFile, WRANGLER_SEND_METRICS: 'false', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (res.error) throw new Error(`cannot run wrangler: ${res.error.message}`);
    if (res.status !== 0) {
      throw new Error(
        `${formatInvocation(args)} failed (exit ${res.status}): ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    let outputs: Record<string, unknown>[] = [];
    try {
      outputs = readFileSync(outFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    } catch {
      /* older wranglers / fakes may write nothing */
    }
    return { stdout: res.stdout, outputs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
