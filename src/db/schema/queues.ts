// The two work queues of the guide: discovery jobs and the events outbox / dead letters (0002, 0300, 0760).
// The SQL in migrations/ is the truth; test/integration/schema-drift.test.ts compares column by column.
import { bigint, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns';

const queueColumns = {
  status: text('status', { enum: ['queued', 'processing', 'done', 'error'] })
    .notNull()
    .default('queued'),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  leaseToken: uuid('lease_token'),
  leaseExpiresAt: ts('lease_expires_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  relayedAt: ts('relayed_at'),
  processedAt: ts('processed_at'),
  deadAt: ts('dead_at'),
};

export const marketplaceDiscoveryQueue = pgTable('marketplace_discovery_queue', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id'),
  interestId: uuid('interest_id').notNull(),
  topic: text('topic').notNull().default('discovery.user-signup'),
  ...queueColumns,
  /** The message chain that owns the job (0760): bumped by each relay send and queue-worker lease. */
  generation: bigint('generation', { mode: 'number' }).notNull().default(0),
});

export const eventsQueue = pgTable('events_queue', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  topic: text('topic').notNull(),
  payload: jsonb('payload').notNull().default({}),
  ...queueColumns,
});
