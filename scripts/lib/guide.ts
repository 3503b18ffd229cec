// The cutover guide's SQL, extracted from docs/spec/day0-cutover-guide.md (a verbatim copy of
// shared/spec/day0-cutover-guide.md) at run time, so tests and the smoke command run it exactly as
// written. psql variables (:'TEST_USER') are substituted the way psql does. The parsing lives in
// guide-text.ts (no Node APIs), so worker tests can use it on a ?raw import.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GUIDE_TEST_USER, guideSectionTextOf, guideShellOf, guideSqlOf } from './guide-text';

export { GUIDE_TEST_USER };
export const GUIDE_PATH = path.resolve(import.meta.dirname, '../../docs/spec/day0-cutover-guide.md');

const guide = () => readFileSync(GUIDE_PATH, 'utf8');

/** The markdown between a heading that starts with `heading` and the next heading of any level. */
export const guideSectionText = (heading: string): string => guideSectionTextOf(guide(), heading);

/** The SQL statements of a section's ```sql blocks, in order, psql meta-commands removed. */
export const guideSql = (heading: string, vars?: Record<string, string>): string[] => guideSqlOf(guide(), heading, vars);

/** Shell code blocks of a section (for commands that wrap psql -c "…"). */
export const guideShell = (heading: string): string[] => guideShellOf(guide(), heading);
