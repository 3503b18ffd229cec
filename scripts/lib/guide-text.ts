// Parsing of the cutover guide's markdown (see guide.ts), free of Node APIs so it runs in workerd
// too (worker tests pass the guide as a `?raw` import; the smoke command reads the file).
export const GUIDE_TEST_USER = '00000000-0000-0000-0000-000000000001';

/** The markdown between a heading that starts with `heading` and the next heading of any level. */
export function guideSectionTextOf(guide: string, heading: string): string {
  const lines = guide.split('\n');
  // A line is a heading only outside code fences (shell comments start with '#' too).
  let inFence = false;
  const isHeading = lines.map((l) => {
    if (l.startsWith('```')) inFence = !inFence;
    return !inFence && /^#+\s/.test(l);
  });
  const start = lines.findIndex((l, i) => isHeading[i] && l.replace(/^#+\s*/, '').startsWith(heading));
  if (start < 0) throw new Error(`guide has no section "${heading}"`);
  const end = isHeading.findIndex((h, i) => i > start && h);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The SQL statements of a section's ```sql blocks, in order, psql meta-commands removed. */
export function guideSqlOf(guide: string, heading: string, vars: Record<string, string> = { TEST_USER: GUIDE_TEST_USER }): string[] {
  const blocks = [...guideSectionTextOf(guide, heading).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) => splitStatements(substitute(block, vars)));
}

/** Shell code blocks of a section (for commands that wrap psql -c "…"). */
export function guideShellOf(guide: string, heading: string): string[] {
  return [...guideSectionTextOf(guide, heading).matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function substitute(sql: string, vars: Record<string, string>): string {
  return sql
    .split('\n')
    .filter((l) => !l.trim().startsWith('\\'))
    .join('\n')
    .replace(/:'(\w+)'/g, (_, name: string) => {
      if (!(name in vars)) throw new Error(`guide uses psql variable ${name} with no value`);
      return `'${vars[name]!.replace(/'/g, "''")}'`;
    });
}

/** Split on semicolons that end a statement (the guide has no semicolons inside strings). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) =>
      s
        .split('\n')
        .filter((l) => !l.trim().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((s) => s.length > 0);
}
