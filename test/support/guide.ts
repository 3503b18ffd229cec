// The cutover guide's SQL, extracted from docs/spec/day0-cutover-guide.md (a verbatim copy of
// shared/spec/day0-cutover-guide.md) at test time so the tests run it exactly as written.
// The parsing lives in guide-sql.ts (pure, also usable inside workerd).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GUIDE_TEST_USER, sectionOf, shellOf, sqlOf } from './guide-sql';

export { GUIDE_TEST_USER };
export const GUIDE_PATH = path.resolve(import.meta.dirname, '../../docs/spec/day0-cutover-guide.md');

const guide = () => readFileSync(GUIDE_PATH, 'utf8');

/** The markdown between a heading that starts with `heading` and the next heading of any level. */
export const guideSectionText = (heading: string): string => sectionOf(guide(), heading);

/** The SQL statements of a section's ```sql blocks, in order, psql meta-commands removed. */
export const guideSql = (heading: string, vars?: Record<string, string>): string[] => sqlOf(guide(), heading, vars);

/** Shell code blocks of a section (for commands that wrap psql -c "…"). */
export const guideShell = (heading: string): string[] => shellOf(guide(), heading);
