// npm run db:seed — load the idempotent seeds into DATABASE_URL (or the local default). Prints the
// target database (host and name, never the password) before touching it; --env staging|production
// refuses a local one.
import { parseCli } from './lib/cli';
import { databaseUrl, fail } from './lib/env';
import { seed } from './lib/migrate';
import { announceDatabase } from './lib/target';

const USAGE = `usage: npm run db:seed [-- --env staging|production]
  Load the flag registry (src/flags/registry.ts) and seeds/*.sql into DATABASE_URL (default: .dev.vars, then
  the local 127.0.0.1:54329). All ON CONFLICT DO NOTHING: never overwrites an operator's change. --env refuses
  a local database.`;

const { values } = parseCli({ options: { env: { type: 'string' } } }, USAGE);
const url = databaseUrl();
announceDatabase(url, values.env);
try {
  const files = await seed(url);
  console.log(`seeded: ${files.join(', ')}`);
} catch (err) {
  fail((err as Error).message);
}
