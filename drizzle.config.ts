// drizzle-kit (studio, introspection) against the local stack or DATABASE_URL. Migrations are
// the SQL files in migrations/ applied by `npm run db:migrate`, not drizzle-kit push.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:54329/postgres' },
  schemaFilter: ['public', 'auth'],
});
