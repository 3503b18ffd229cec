// npm run db:seed — load the idempotent seeds into DATABASE_URL (or the local default).
import { databaseUrl, fail } from './lib/env';
import { seed } from './lib/migrate';

try {
  const files = await seed(databaseUrl());
  console.log(`seeded: ${files.join(', ')}`);
} catch (err) {
  fail((err as Error).message);
}
