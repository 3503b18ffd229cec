// GET /v1/me/export and GET /admin/users/{id}/export: everything held about one user as one JSON
// document, streamed as each part is read, from one read-only snapshot (REPEATABLE READ).
//
//   first page   user, erasure, interests, suggestions, limit_overrides (small), and the first
//                page of each large part: signals, learning_events, rewards, discovery_jobs, each
//                {items, next_cursor}
//   ?cursor=…    the next page of one large part ({part, items, next_cursor}); ?part=… starts a part
//
// Every page is bounded (`limit` rows per large part) and ends with "complete": true — a document
// without it was cut short (the database failed mid-stream) and must be fetched again. KV holds no
// per-user data beyond the interests (exported from Postgres) and the limiter only timestamps, so
// Postgres is the whole of it.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { withDb } from '../db/client';
import { type Db, execute, transaction } from '../db/sql';
import { badRequest } from '../http/errors';
import { errorFields, type Logger } from '../observability/logger';
import type { Unit } from '../platform/unit';
import { erasureOfUser } from './queries-erasure';
import { interests, limitOverrides, PAGED_PART_NAMES, PAGED_PARTS, type PagedPartName, suggestions, userRow } from './queries-export';

export const EXPORT_FORMAT = 'edge-discovery.user-export.v1';
export const EXPORT_PAGE = { default: 500, max: 1_000 } as const;

const Cursor = z.object({ p: z.enum(PAGED_PART_NAMES), k: z.array(z.string().max(200)).min(1).max(2) });
type Cursor = z.infer<typeof Cursor>;

const toBase64Url = (s: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(s)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const fromBase64Url = (s: string) =>
  new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0)));

export const encodeCursor = (c: Cursor): string => toBase64Url(JSON.stringify(c));

/** A cursor from a previous page; 400 when it is not one of ours. */
export function decodeCursor(raw: string): Cursor {
  try {
    const parsed = Cursor.safeParse(JSON.parse(fromBase64Url(raw)));
    if (parsed.success && PAGED_PARTS[parsed.data.p].cursor.safeParse(parsed.data.k).success) return parsed.data;
  } catch {
    // fall through: not base64url JSON
  }
  throw badRequest('cursor: not a cursor of this export (take next_cursor from the previous page)');
}

export interface ExportRequest {
  userId: string;
  /** Absent: the first page (the whole document). */
  part?: PagedPartName;
  cursor?: string;
  limit: number;
}

type Write = (text: string) => void;
const field = (name: string, value: unknown, last = false) => `${JSON.stringify(name)}:${JSON.stringify(value)}${last ? '' : ','}`;

/** One page of a large part, written as {"items":[…],"next_cursor":…} members. */
async function writePage(db: Db, write: Write, userId: string, part: PagedPartName, after: readonly string[] | undefined, limit: number) {
  const def = PAGED_PARTS[part];
  const rows = await def.read(db, userId, after, limit + 1);
  const items = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor({ p: part, k: def.key(items[items.length - 1]!) }) : null;
  write(`"items":[`);
  items.forEach((r, i) => {
    write((i > 0 ? ',' : '') + JSON.stringify(r));
  });
  write(`],${field('next_cursor', next, true)}`);
}

/** One read-only snapshot for the whole page, so its parts agree with each other. */
function snapshot<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return transaction(db, async (tx) => {
    await execute(tx, sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
    return fn(tx);
  });
}

async function writeDocument(db: Db, write: Write, req: ExportRequest, ready: () => void): Promise<void> {
  const head = (extra: string) =>
    `{${field('format', EXPORT_FORMAT)}${field('user_id', req.userId)}${field('generated_at', new Date().toISOString())}${extra}`;
  const cursor = req.cursor ? decodeCursor(req.cursor) : undefined;
  const part = cursor?.p ?? req.part;
  if (part) {
    if (req.part && cursor && req.part !== cursor.p) throw badRequest(`cursor: it continues part ${cursor.p}, not ${req.part}`);
    write(head(`${field('part', part)}`));
    ready();
    await writePage(db, write, req.userId, part, cursor?.k, req.limit);
    write(`,${field('complete', true, true)}}`);
    return;
  }
  const [user, erasure] = await Promise.all([userRow(db, req.userId), erasureOfUser(db, req.userId)]);
  write(head(`${field('user', user ?? null)}${field('erasure', erasure ?? null)}`));
  ready();
  write(field('interests', await interests(db, req.userId)));
  write(field('suggestions', await suggestions(db, req.userId)));
  write(field('limit_overrides', await limitOverrides(db, req.userId)));
  for (const name of PAGED_PART_NAMES) {
    write(`${JSON.stringify(name)}:{`);
    await writePage(db, write, req.userId, name, undefined, req.limit);
    write('},');
  }
  write(`${field('complete', true, true)}}`);
}

/**
 * The export as a streamed JSON body. Resolves once the first read succeeded, so a database that
 * is down (or a bad cursor) still answers with an error status instead of a cut-short 200.
 */
export async function exportStream(u: Pick<Unit, 'env' | 'log' | 'waitUntil'>, req: ExportRequest): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let buffered = '';
  // Small pieces are gathered into ~16 KB chunks: one write per row would be one chunk per row.
  const flush = () => {
    if (buffered) void writer.write(encoder.encode(buffered));
    buffered = '';
  };
  const write: Write = (text) => {
    buffered += text;
    if (buffered.length >= 16_384) flush();
  };
  let started!: () => void;
  let failedEarly!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    failedEarly = reject;
  });
  let begun = false;
  const produced = withDb(u.env, u.log, (db) =>
    snapshot(db, (tx) =>
      writeDocument(tx, write, req, () => {
        begun = true;
        started();
      }),
    ),
  ).then(
    async () => {
      flush();
      await writer.close();
    },
    async (err) => {
      if (!begun) return failedEarly(err);
      logFailure(u.log, err);
      await writer.abort(err);
    },
  );
  u.waitUntil(produced);
  await ready;
  return readable;
}

function logFailure(log: Logger, err: unknown): void {
  log.error('privacy.export_failed', errorFields(err));
}
