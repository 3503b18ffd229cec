// What an operator CLI acts on, said before it acts. Every script that calls the admin API or
// opens a database prints one `target:` line on stderr (stdout stays parseable: --json, tokens)
// before its first request, and refuses to run when `--env staging|production` is given but the
// target is this machine — the shell that forgot API_URL / DATABASE_URL would otherwise act on the
// local stack (or, the other way round, a stale export on production) without a word.

/** One `error:` line and a non-zero exit (1 unless the script's convention says otherwise). */
function refuse(message: string, exitCode: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(exitCode);
}

/** The deployed environments of wrangler.toml: naming one means "not this machine". */
export const DEPLOYED_ENVS = new Set(['staging', 'production']);

const LOCAL_HOSTS = new Set(['localhost', '::1', '[::1]', '0.0.0.0']);

export function isLocalHost(hostname: string): boolean {
  return LOCAL_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** host[:port]/database of a Postgres URL — never the user or password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}/${decodeURIComponent(u.pathname.slice(1)) || '(default database)'}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export function isLocalDatabase(url: string): boolean {
  try {
    return isLocalHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

const envNote = (env: string | undefined) => (env ? ` (--env ${env})` : '');

/** Refuse a local API for a deployed --env, then say which API this run acts on. */
export function announceApi(baseUrl: string, env: string | undefined, exitCode = 1): void {
  let local = false;
  try {
    local = isLocalHost(new URL(baseUrl).hostname);
  } catch {
    refuse(`API_URL is not a URL: ${baseUrl}`, exitCode);
  }
  if (env && DEPLOYED_ENVS.has(env) && local) {
    refuse(
      `--env ${env}, but the API is ${baseUrl} (this machine). Set API_URL (or --url) to the ${env} Worker — ` +
        'docs/RUNBOOK.md §0 "Operator shell" — or drop --env to act on the local stack.',
      exitCode,
    );
  }
  process.stderr.write(`target: API ${baseUrl}${envNote(env)}\n`);
}

/** Refuse a local database for a deployed --env, then say which database this run acts on. */
export function announceDatabase(url: string, env: string | undefined, what = 'database', exitCode = 1): void {
  if (env && DEPLOYED_ENVS.has(env) && isLocalDatabase(url)) {
    refuse(
      `--env ${env}, but the ${what} is ${describeDatabase(url)} (this machine). Set DATABASE_URL (or --database-url) to the ` +
        `${env} database — docs/RUNBOOK.md §0 "Operator shell" — or drop --env to act on the local one.`,
      exitCode,
    );
  }
  process.stderr.write(`target: ${what} ${describeDatabase(url)}${envNote(env)}\n`);
}
