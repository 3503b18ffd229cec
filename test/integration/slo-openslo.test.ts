// npm run slo -- export --format openslo, run as an operator runs it against a private database
// (migrated and seeded: the guide's SLO targets and burn-rate rules): every YAML document is valid
// against the OpenSLO v1 JSON Schema (vendored in test/support/openslo-v1, SOURCE.md says from
// where), and the documents reference each other consistently and cover every target and rule.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { connect, freshDatabase } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCHEMAS = path.join(ROOT, 'test/support/openslo-v1');

let fresh: { url: string; drop(): Promise<void> };
let db: pg.Client;
let dir: string;
type Doc = { apiVersion: string; kind: string; metadata: { name: string; displayName?: string }; spec: Record<string, any> };
let docs: Doc[];

async function validator() {
  // strict: false — the upstream schema uses keywords ajv's strict mode flags as unusual (if/then
  // without type, additionalItems without items); it changes what ajv warns about in the schema,
  // not how documents are validated.
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const f of await readdir(path.join(SCHEMAS, 'parts')))
    ajv.addSchema(JSON.parse(await readFile(path.join(SCHEMAS, 'parts', f), 'utf8')));
  return ajv.compile(JSON.parse(await readFile(path.join(SCHEMAS, 'openslo.schema.json'), 'utf8')));
}

beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
  dir = await mkdtemp(path.join(os.tmpdir(), 'openslo-'));
  const out = path.join(dir, 'slos.yaml');
  const { stderr } = await promisify(execFile)(
    path.join(ROOT, 'node_modules/.bin/tsx'),
    ['scripts/slo.ts', 'export', '--format', 'openslo', '--database-url', fresh.url, '--out', out],
    { cwd: ROOT },
  );
  expect(stderr).toMatch(/wrote \d+ OpenSLO documents/);
  const parsed = parseAllDocuments(await readFile(out, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error('no YAML documents');
  for (const d of parsed) expect(d.errors).toEqual([]);
  docs = parsed.map((d) => d.toJS() as Doc);
}, 60_000);

afterAll(async () => {
  await db?.end();
  await fresh?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('OpenSLO export', () => {
  it('every document is valid OpenSLO v1 (JSON Schema)', async () => {
    const validate = await validator();
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      const ok = validate(d);
      expect(ok, `${d.kind} ${d.metadata.name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
    }
    expect(new Set(docs.map((d) => d.kind))).toEqual(new Set(['SLO', 'SLI', 'AlertPolicy', 'AlertCondition', 'AlertNotificationTarget']));
  });

  it('the schema is really applied: broken documents are refused', async () => {
    const validate = await validator();
    const slo = structuredClone(docs.find((d) => d.kind === 'SLO')!);
    slo.spec.objectives[0].target = 1.5; // above the exclusive maximum 1
    expect(validate(slo)).toBe(false);
    const named = { ...structuredClone(slo), metadata: { name: 'POST /v1/rank' } }; // not an OpenSLO name
    expect(validate(named)).toBe(false);
    const policy = structuredClone(docs.find((d) => d.kind === 'AlertPolicy')!);
    delete policy.spec.notificationTargets;
    expect(validate(policy)).toBe(false);
  });

  it('one availability and one latency SLO per target, with its numbers; every reference resolves', async () => {
    const { rows: targets } = await db.query('SELECT operation, latency_p95_ms, availability_target FROM public.slo_targets');
    expect(targets.length).toBeGreaterThan(5);
    const byName = (kind: string) => new Map(docs.filter((d) => d.kind === kind).map((d) => [d.metadata.name, d]));
    const slos = byName('SLO');
    const slis = byName('SLI');
    const policies = byName('AlertPolicy');
    const conditions = byName('AlertCondition');
    const targetsDocs = byName('AlertNotificationTarget');
    expect(slos.size).toBe(2 * targets.length);
    for (const t of targets) {
      const mine = [...slos.values()].filter((s) => s.metadata.displayName === t.operation);
      const availability = mine.find((s) => s.spec.budgetingMethod === 'Occurrences')!;
      const latency = mine.find((s) => s.spec.budgetingMethod === 'Timeslices')!;
      expect(availability.spec.objectives[0].target).toBe(t.availability_target);
      expect(latency.spec.objectives[0]).toMatchObject({ op: 'lte', value: t.latency_p95_ms / 1000 });
      for (const s of [availability, latency]) expect(slis.get(s.spec.indicatorRef)?.metadata.displayName).toBe(t.operation);
      // The SLIs query the series GET /admin/metrics exposes, for this operation.
      expect(slis.get(availability.spec.indicatorRef)!.spec.ratioMetric.bad.metricSource.spec.query).toBe(
        `edge_request_errors{operation=${JSON.stringify(t.operation)}}`,
      );
      for (const p of availability.spec.alertPolicies) expect(policies.has(p)).toBe(true);
    }
    for (const p of policies.values()) {
      expect(conditions.has(p.spec.conditions[0].conditionRef)).toBe(true);
      expect(targetsDocs.has(p.spec.notificationTargets[0].targetRef)).toBe(true);
    }
  });

  it('every enabled burn-rate rule is an alert policy with its threshold and window; others are not', async () => {
    const { rows: rules } = await db.query(
      `SELECT id, metric, threshold, for_seconds, severity, enabled FROM public.alert_rules WHERE metric LIKE 'slo.%' ORDER BY id`,
    );
    expect(rules.map((r) => r.id)).toEqual(expect.arrayContaining(['slo_burn_rate', 'slo_fast_burn', 'slo_slow_burn']));
    const policies = docs.filter((d) => d.kind === 'AlertPolicy');
    expect(policies.map((p) => p.metadata.displayName).sort()).toEqual(
      rules
        .filter((r) => r.enabled)
        .map((r) => r.id)
        .sort(),
    );
    const condition = (rule: string) =>
      docs.find((d) => d.kind === 'AlertCondition' && d.metadata.name === `${rule.replace(/_/g, '-')}-condition`)!;
    expect(condition('slo_burn_rate').spec).toMatchObject({
      severity: 'page',
      condition: { kind: 'burnrate', op: 'gt', threshold: 2, lookbackWindow: '1h', alertAfter: '2m' },
    });
    expect(condition('slo_fast_burn').spec.condition).toMatchObject({ threshold: 14.4, lookbackWindow: '1h' });
    expect(condition('slo_slow_burn').spec.condition).toMatchObject({ threshold: 6, lookbackWindow: '6h' });
    // Every availability SLO carries the three (they have no subject: all SLOs).
    for (const s of docs.filter((d) => d.kind === 'SLO' && d.spec.budgetingMethod === 'Occurrences')) {
      expect(s.spec.alertPolicies).toEqual(['slo-burn-rate-policy', 'slo-fast-burn-policy', 'slo-slow-burn-policy']);
    }
  });
});
