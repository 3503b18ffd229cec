// Argument parsing for every npm-script CLI, so each one behaves the same at 3 a.m.:
//   --help / -h  prints the usage on stdout and exits 0 (before anything is read or written);
//   a wrong option or argument prints one `error:` line and the usage on stderr, exit 2 — never a
//   Node stack trace (node:util's parseArgs throws on anything it does not know).
// The options are declared in the call (`parseCli({ options: {…} }, USAGE)`), where
// test/integration/runbook.test.ts reads them to check every command the docs show.
import { type ParseArgsConfig, parseArgs } from 'node:util';

export function parseCli<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  const withHelp = { ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${usage.trimEnd()}\n`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  return parsed;
}

/** A usage error found after parsing (a missing argument, a bad value): same shape, exit 2. */
export function usageError(message: string, usage: string): never {
  process.stderr.write(`error: ${message}\n\n${usage.trimEnd()}\n`);
  process.exit(2);
}
