// A real signed alert webhook, from the Worker as operators run it (wrangler dev) to a receiver in
// this process: an alert transition → EVENTS queue → POST with the Standard Webhooks headers. The
// receiver answers the first POST 500, so the queue retries: the retry carries the same webhook-id
// (re-signed with its own timestamp). With ALERT_WEBHOOK_SECRET and ALERT_WEBHOOK_SECRET_NEXT both
// set (a rotation), each delivery verifies with either secret alone through the client helper
// (clients/typescript/src/webhooks.ts); a tampered body, a wrong secret and an old timestamp do not.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../clients/typescript/src/webhooks';
import { connect, freshDatabase } from '../support/pg';
import { startWorkerDev, type WorkerDev } from '../support/worker-dev';

const SERVICE_KEY = 'webhook-test-service-key';
const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const SECRET_NEXT = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
const WRONG = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const RULE = 'webhook_signed_test';

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}
const deliveries: Delivery[] = [];
let hookServer: http.Server;
let fresh: { url: string; drop(): Promise<void> };
let db: pg.Client;
let worker: WorkerDev;

beforeAll(async () => {
  const seen = new Set<string>();
  hookServer = http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        const status = seen.has(id) ? 200 : 500;
        seen.add(id);
        deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status).end();
      });
    })
    .listen(0, '127.0.0.1');
  await new Promise((r) => hookServer.once('listening', r));

  fresh = await freshDatabase();
  db = await connect(fresh.url);
  // A rule that breaches at once: a dead-letter gauge sampled this minute, `for` 0 → firing.
  await db.query(
    `INSERT INTO public.gauge_metrics_minute (metric, subject, minute, value, samples)
     VALUES ('dlq.size', 'webhook-test', date_trunc('minute', now()), 3, 1)`,
  );
  await db.query(
    `INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity, action)
     VALUES ($1, 'signed webhook test', 'dlq.size', 'webhook-test', '>', 0, 0, 0, 'ticket', 'notify')`,
    [RULE],
  );
  worker = await startWorkerDev({
    databaseUrl: fresh.url,
    vars: {
      APP_ENV: 'development',
      SERVICE_ROLE_KEY: SERVICE_KEY,
      AUTH_JWT_SECRET: 'webhook-jwt-secret-0123',
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`,
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_WEBHOOK_SECRET_NEXT: SECRET_NEXT,
    },
  });
}, 150_000);

afterAll(async () => {
  await worker?.stop();
  await db?.end();
  await fresh?.drop();
  hookServer?.close();
});

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${worker.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('signed alert webhooks', () => {
  let first: Delivery;
  let retry: Delivery;

  it('a transition is posted signed; the failed first POST is retried with the same webhook-id', async () => {
    const res = await fetch(`${worker.base}/admin/alerts/evaluate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rule_ids: [RULE], at: new Date().toISOString() }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).transitions).toMatchObject([{ rule_id: RULE, from: null, to: 'firing' }]);

    [first, retry] = (await until(
      'a 500 then a 200 delivery',
      () => (deliveries.some((d) => d.status === 200) ? deliveries : undefined),
      60_000,
    )) as [Delivery, Delivery];
    expect(deliveries.map((d) => d.status)).toEqual([500, 200]);
    const {
      rows: [alert],
    } = await db.query('SELECT id FROM public.alerts WHERE rule_id = $1', [RULE]);
    expect(first.headers['webhook-id']).toBe(`${alert.id}:firing`);
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(retry.headers['x-alert-id']).toBe(first.headers['x-alert-id']);
    expect(retry.body).toBe(first.body);
    expect(JSON.parse(first.body)).toMatchObject({ id: `${alert.id}:firing`, rule_id: RULE, to: 'firing' });
    for (const d of [first, retry]) {
      expect(d.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
      expect(Math.abs(Number(d.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(120);
      // Rotation: one v1 signature per secret, space-separated.
      expect(String(d.headers['webhook-signature']).split(' ')).toHaveLength(2);
    }
  }, 90_000);

  it('each delivery verifies with either secret of the rotation', async () => {
    for (const d of [first, retry]) {
      for (const secret of [SECRET, SECRET_NEXT]) {
        expect(await verifyWebhook({ secret, headers: d.headers, body: d.body })).toMatchObject({
          valid: true,
          id: d.headers['webhook-id'],
        });
      }
    }
  });

  it('a tampered body, a wrong secret and an old timestamp are rejected', async () => {
    const body = first.body.replace('"to":"firing"', '"to":"resolved"');
    expect(body).not.toBe(first.body);
    expect(await verifyWebhook({ secret: SECRET, headers: first.headers, body })).toEqual({
      valid: false,
      reason: 'no_matching_signature',
    });
    expect(await verifyWebhook({ secret: WRONG, headers: first.headers, body: first.body })).toEqual({
      valid: false,
      reason: 'no_matching_signature',
    });
    // The same delivery replayed 6 minutes later.
    const later = new Date((Number(first.headers['webhook-timestamp']) + 360) * 1000);
    expect(await verifyWebhook({ secret: SECRET, headers: first.headers, body: first.body, now: later })).toEqual({
      valid: false,
      reason: 'timestamp_out_of_tolerance',
    });
  });
});
