// npm run db:migrate — apply pending migrations to DATABASE_URL (or the local default).
import { databaseUrl, fail } from './lib/env';
import { migrate } from './lib/migrate';

try {
  const { applied, skipped } = await migrate(databaseUrl());
  console.log(applied.length ? `applied ${applied.length}: ${applied.join(', ')}` : `up to date (${skipped} applied before)`);
} catch (err) {
  fail((err as Error).message);
}
