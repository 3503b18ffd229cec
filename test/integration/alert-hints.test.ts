// docs/ONCALL.md is the on-call page (issue 21): every alert rule's runbook hint points to an
// existing section of it, each alert and each of the five scenarios there has symptoms → do →
// verify → undo, its table of contents reaches each in one click, its own links resolve, and the
// RUNBOOK opens with a link to it. (Its commands, routes and SQL are checked by runbook.test.ts.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const ONCALL = read('docs/ONCALL.md');

/** GitHub's heading anchor: lower case, punctuation other than - and _ dropped, spaces → "-". */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

interface Section {
  level: number;
  title: string;
  anchor: string;
  body: string;
}

function sections(md: string): Section[] {
  const out: Section[] = [];
  let inFence = false;
  for (const line of md.split('\n')) {
    if (/^```/.test(line)) inFence = !inFence;
    const h = inFence ? null : /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) out.push({ level: h[1]!.length, title: h[2]!, anchor: slug(h[2]!), body: '' });
    else if (out.length) out[out.length - 1]!.body += `${line}\n`;
  }
  return out;
}

const all = sections(ONCALL);
const anchors = new Set(all.map((s) => s.anchor));
const under = (parent: string) => {
  const i = all.findIndex((s) => s.level === 2 && s.title === parent);
  const j = all.findIndex((s, k) => k > i && s.level <= 2);
  return all.slice(i + 1, j < 0 ? undefined : j).filter((s) => s.level === 3);
};
/** Seeded hints: `docs/ONCALL.md#<anchor>: <one line of what to look at>`. */
const HINT = /^docs\/ONCALL\.md#([a-z0-9_-]+): \S.*$/;

let db: pg.Client;
beforeAll(async () => {
  db = await connect();
});
afterAll(async () => {
  await db?.end();
});

describe('alert rules → docs/ONCALL.md', () => {
  it("every alert rule's hint points to an existing section of its own", async () => {
    const { rows } = await db.query<{ id: string; runbook: string | null }>('SELECT id, runbook FROM public.alert_rules ORDER BY id');
    expect(rows.length).toBeGreaterThanOrEqual(7);
    const problems = rows.flatMap(({ id, runbook }) => {
      const m = HINT.exec(runbook ?? '');
      if (!m) return [`${id}: hint ${JSON.stringify(runbook)} does not start with docs/ONCALL.md#<section>: `];
      if (!anchors.has(m[1]!)) return [`${id}: docs/ONCALL.md has no section #${m[1]}`];
      return m[1] === id ? [] : [`${id}: points to #${m[1]}, not to its own section #${id}`];
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it("the migration that rewrites old hints writes the seed's hints (no stale text left to contradict the RUNBOOK)", () => {
    const hints = (file: string) => [...read(file).matchAll(/'(docs\/ONCALL\.md#[^']+)'/g)].map((m) => m[1]!).sort();
    const seeded = hints('seeds/0500_slo_and_alerts.sql');
    expect(seeded.length).toBe(7);
    const migrated = hints('migrations/0760_on_call.sql');
    expect(migrated).toEqual(expect.arrayContaining(seeded));
    // Rules of other migrations the migration rewrites too: their sections exist.
    const missing = migrated.map((h) => HINT.exec(h)?.[1]).filter((a) => !a || !anchors.has(a));
    expect(missing, `no section for: ${missing.join(', ')}`).toEqual([]);
    // The two hints that contradicted the RUNBOOK (issue 21).
    const text = migrated.join('\n');
    expect(text).not.toMatch(/max_concurrency/);
    expect(text).not.toMatch(/npx wrangler rollback/);
    expect(text).toMatch(/#http_5xx_rate: .*npm run deploy:rollback while a canary split is active/);
  });
});

describe('docs/ONCALL.md', () => {
  const alertSections = under('Alerts');
  const scenarios = under('Scenarios');

  it('has a section per seeded alert rule and the five scenarios', async () => {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM public.alert_rules ORDER BY id');
    expect(alertSections.map((s) => s.anchor).sort()).toEqual(expect.arrayContaining(rows.map((r) => r.id)));
    expect(scenarios.map((s) => s.title)).toEqual(
      expect.arrayContaining(['Ranking looks broken', 'Dead letters piling up', 'Roll back the last deploy', 'Add a flag']),
    );
    // "slo_burn_rate fired" is the alert's own section.
    expect(alertSections.find((s) => s.anchor === 'slo_burn_rate')!.body).toContain('"slo_burn_rate fired."');
  });

  it('every alert and scenario section says symptoms, what to do, how to verify and how to undo, with output to expect', () => {
    const problems: string[] = [];
    for (const s of [...alertSections, ...scenarios]) {
      for (const part of ['**Symptoms.**', '**Do.**', '**Verify.**', '**Undo'])
        if (!s.body.includes(part)) problems.push(`${s.title}: no ${part}`);
      if (!/`(npm run|npx wrangler|curl|psql)[^`]*`|```bash/.test(s.body)) problems.push(`${s.title}: no command`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('one lookup: the table at the top links every alert and scenario section', () => {
    const top = ONCALL.slice(0, ONCALL.indexOf('\n## '));
    const linked = new Set([...top.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!));
    const missing = [...alertSections, ...scenarios].map((s) => s.anchor).filter((a) => !linked.has(a));
    expect(missing, `not linked from the top table: ${missing.join(', ')}`).toEqual([]);
  });

  it('every #anchor link in it, and every ONCALL.md#anchor link in the RUNBOOK, resolves', () => {
    const links = [
      ...[...ONCALL.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!),
      ...[...read('docs/RUNBOOK.md').matchAll(/ONCALL\.md#([a-z0-9_-]+)/g)].map((m) => m[1]!),
    ];
    expect(links.length).toBeGreaterThan(10);
    const broken = links.filter((a) => !anchors.has(a));
    expect(broken, `no such section: ${broken.join(', ')}`).toEqual([]);
  });

  it("is linked from the RUNBOOK's first line", () => {
    const firstLine = read('docs/RUNBOOK.md')
      .split('\n')
      .find((l) => l.trim() && !l.startsWith('#'));
    expect(firstLine).toMatch(/\[[^\]]*ONCALL\.md\]\(ONCALL\.md\)/);
  });
});
