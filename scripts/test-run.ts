// npm test's last step: the vitest projects in processes side by side. One vitest process runs one
// test file at a time on a 2-core machine, and most of the suite waits rather than computes: the
// integration project (child processes, local stacks, waits for minute boundaries) and above all its
// outage tests, which hold Postgres frozen for minutes (files named *-outage.test.ts). Run one after
// the other, the second core idled. So the full suite runs as three processes:
//   unit + worker                       CPU; its output streams live
//   integration without the outage tests
//   the integration outage tests        their own process: ~5 minutes of mostly waiting
// Each process starts its own throwaway Postgres (test/setup/global-setup.ts), so they share no
// database. The buffered outputs follow the live one, so nothing interleaves. Arguments (a file
// filter, say) go to the unit + worker process and to one integration process holding every
// integration file; a process whose projects have no matching file passes.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib/env';

const vitest = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
const extra = process.argv.slice(2);
const passWithNoTests = extra.length > 0 ? ['--passWithNoTests'] : [];
/** The outage tests, by name: vitest's file filter (a substring) and the matching exclude glob. */
const OUTAGE_FILTER = 'outage.test.ts';
const OUTAGE_GLOB = '**/*-outage.test.ts';

interface Run {
  label: string;
  args: string[];
}

function run({ args }: Run, buffered: boolean): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [vitest, 'run', ...args], { cwd: ROOT, stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output })));
}

const live: Run = { label: 'unit + worker', args: ['--project', 'unit', '--project', 'worker', ...passWithNoTests, ...extra] };
const buffered: Run[] =
  extra.length > 0
    ? [{ label: 'integration', args: ['--project', 'integration', ...passWithNoTests, ...extra] }]
    : [
        { label: 'integration (outage tests)', args: ['--project', 'integration', OUTAGE_FILTER] },
        { label: 'integration (the rest)', args: ['--project', 'integration', '--exclude', OUTAGE_GLOB] },
      ];

const pending = buffered.map((r) => run(r, true));
const results = [{ label: live.label, ...(await run(live, false)) }];
for (const [i, p] of pending.entries()) {
  const r = { label: buffered[i]!.label, ...(await p) };
  process.stdout.write(`\n---- ${r.label} (ran beside the unit and worker projects) ----\n${r.output}`);
  results.push(r);
}
console.log(`\n${results.map((r) => `${r.label}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`}`).join('; ')}`);
process.exit(results.find((r) => r.code !== 0)?.code ?? 0);
