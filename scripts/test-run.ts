// npm test's last step: the vitest projects in two processes side by side — the integration project
// (child processes, local stacks, a 3-minute Postgres freeze, waits for minute boundaries: mostly
// waiting) beside the unit and worker projects (CPU). One vitest process runs one test file at a time
// on a 2-core machine, so run one after the other the second core idles while an integration test
// waits. Each process starts its own throwaway Postgres (test/setup/global-setup.ts), so the two
// share no database. The unit + worker output streams live; the integration output follows it
// (buffered, so the two never interleave). Arguments go to both processes (e.g. a file filter: a
// process whose project has no matching file passes).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib/env';

const vitest = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
const extra = process.argv.slice(2);
const passWithNoTests = extra.length > 0 ? ['--passWithNoTests'] : [];

function run(projects: string[], buffered: boolean): Promise<{ code: number; output: string }> {
  const args = [vitest, 'run', ...projects.flatMap((p) => ['--project', p]), ...passWithNoTests, ...extra];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output })));
}

const integration = run(['integration'], true);
const rest = await run(['unit', 'worker'], false);
const integ = await integration;
process.stdout.write(`\n---- integration project (ran beside the unit and worker projects) ----\n${integ.output}`);
console.log(
  `\nunit + worker: ${rest.code === 0 ? 'passed' : `FAILED (exit ${rest.code})`}; integration: ${integ.code === 0 ? 'passed' : `FAILED (exit ${integ.code})`}`,
);
process.exit(rest.code || integ.code);
