// npm run db:migrate — apply pending migrations to DATABASE_URL (or the local default). Prints the
// target database (host and name, never the password) before touching it; --env staging|production
// refuses a local one (the shell that forgot its DATABASE_URL export).
import { parseCli } from './lib/cli';
import { databaseUrl, fail } from './lib/env';
import { migrate } from './lib/migrate';
import { announceDatabase } from './lib/target';

const USAGE = `usage: npm run db:migrate [-- --env staging|production]
  Apply pending migrations/*.sql to DATABASE_URL (default: .dev.vars, then the local 127.0.0.1:54329), each
  once, in order, in its own transaction; a re-run is a no-op. --env refuses a local database.`;

const { values } = parseCli({ options: { env: { type: 'string' } } }, USAGE);
const url = databaseUrl();
announceDatabase(url, values.env);
try {
  const { applied, skipped } = await migrate(url);
  console.log(applied.length ? `applied ${applied.length}: ${applied.join(', ')}` : `up to date (${skipped} applied before)`);
} catch (err) {
  fail((err as Error).message);
}
