// Privacy: erasure records (0770). The tombstones, the key and the erasure targets are read and
// written only through the SQL functions of that migration.
import { integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns';

export const userErasures = pgTable('user_erasures', {
  id: uuid('id').primaryKey().defaultRandom(),
  requestedAt: ts('requested_at').notNull().defaultNow(),
  requestedBy: text('requested_by').notNull(),
  reason: text('reason').notNull(),
  requestId: text('request_id'),
  /** Held only while the erasure is pending; NULL once it completed. */
  userId: uuid('user_id'),
  tombstoneAt: ts('tombstone_at'),
  postgresAt: ts('postgres_at'),
  kvAt: ts('kv_at'),
  limiterAt: ts('limiter_at'),
  completedAt: ts('completed_at'),
  deleted: jsonb('deleted').$type<Record<string, number>>().notNull().default({}),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
