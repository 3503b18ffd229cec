// Every command of docs/RUNBOOK.md (and docs/ONCALL.md, README.md) is checked against the code it names, so an
// operator can paste it at 3 a.m.:
//   - `npm run <script>`: the script exists; its subcommands and --options are ones the script
//     accepts (read from its source: the `parseArgs` / `parseCli` options and the `switch`/`===` on
//     its command — static, so no script is run), and arguments come after `--`;
//   - HTTP routes (`PUT /admin/flags/:key`, `curl … "$API_URL/v1/rank"`, bare `/admin/dlq`): the route
//     is in the app's OpenAPI document (createApp(), the same document /openapi.json serves), with
//     the method when one is given;
//   - SQL: every ```sql block, every `psql -c "…"` and every inline `…;` statement runs without error
//     in a rolled-back transaction on a clone of the migrated and seeded test database. A block that
//     cannot run may be preceded by `<!-- runbook-test: skip (reason) -->`;
//   - `npx wrangler …`: the (sub)command exists in the installed wrangler and takes the options and
//     positionals given (read from wrangler's own command registry, the one its CLI parser and its
//     --help are built from), every `--binding` is a KV namespace of wrangler.toml (of the `--env`
//     given), every `--env` an environment there, and every `secret put|delete` names a variable
//     the Worker reads;
//   - the Cron Triggers and cron jobs the runbook names are the ones wrangler.toml and
//     src/jobs.ts declare.
// README.md additionally lists every package.json script and every variable the Worker reads.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type pg from 'pg';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freshDatabase } from '../support/pg';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const DOCS = ['docs/RUNBOOK.md', 'docs/ONCALL.md', 'README.md'] as const;
const SKIP_MARKER = /<!--\s*runbook-test:\s*skip\b[^>]*-->\s*$/;

// ------------------------------------------------------------------------------------ markdown

interface Block {
  lang: string;
  body: string;
  line: number;
  skip: boolean;
}

function parseMarkdown(md: string): { blocks: Block[]; inline: { code: string; line: number }[] } {
  const lines = md.split('\n');
  const blocks: Block[] = [];
  const inline: { code: string; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (open) {
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
      const prev =
        lines
          .slice(0, start)
          .reverse()
          .find((l) => l.trim() !== '') ?? '';
      blocks.push({ lang: open[1]!, body: body.join('\n'), line: start + 1, skip: SKIP_MARKER.test(prev) });
      continue;
    }
    // Inline code spans; markdown tables escape "|" as "\|".
    for (const m of lines[i]!.matchAll(/`([^`]+)`/g)) inline.push({ code: m[1]!.replace(/\\\|/g, '|'), line: i + 1 });
  }
  return { blocks, inline };
}

/** Shell lines of a bash block: continuations joined, comment-only lines dropped. */
function shellLines(block: Block): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const lines = block.body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = block.line + 1 + i;
    let text = lines[i]!;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i]!;
    if (text.trim() && !text.trim().startsWith('#')) out.push({ text, line });
  }
  return out;
}

/**
 * Shell words from `text` up to the end of the simple command (an unquoted `|`, `&&`, `||`, `;`,
 * `)`, `>` or `#` comment). Quotes are removed, `$VARS` kept literally. `a|b` inside a word stays:
 * the runbook writes alternatives that way.
 */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  const push = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? text.length : end;
    } else if (ch === '"') {
      let s = '';
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && '"\\$`'.includes(text[i + 1] ?? '')) i++;
        s += text[i];
      }
      word = (word ?? '') + s;
    } else if (ch === '\\') {
      word = (word ?? '') + (text[++i] ?? '');
    } else if (/\s/.test(ch)) {
      push();
    } else if (ch === ';' || (ch === '&' && text[i + 1] === '&') || (word === null && (ch === '|' || ch === '>' || ch === '#'))) {
      break;
    } else if (ch === ')') {
      break;
    } else if (ch === '>' && word !== null && /^\d$/.test(word)) {
      word = null; // 2>/dev/null
      break;
    } else {
      word = (word ?? '') + ch;
    }
  }
  push();
  return words;
}

/** Every command starting with `prefix` (e.g. "npm run") in a doc's bash blocks and inline code. */
function commands(doc: ReturnType<typeof parseMarkdown>, prefix: string): { words: string[]; where: string }[] {
  const out: { words: string[]; where: string }[] = [];
  const scan = (text: string, where: string) => {
    const re = new RegExp(`(?:^|[\\s$(\`'"])${prefix.replace(/ /g, '\\s+')}(?=\\s|$)`, 'g');
    for (const m of text.matchAll(re)) {
      const start = m.index! + m[0].length;
      out.push({ words: shellWords(text.slice(start)), where: `${where}: ${text.trim().slice(0, 140)}` });
    }
  };
  for (const b of doc.blocks) if (['bash', 'sh', ''].includes(b.lang)) for (const l of shellLines(b)) scan(l.text, `line ${l.line}`);
  for (const s of doc.inline) scan(s.code, `line ${s.line}`);
  return out;
}

/** Placeholder / grouping decoration around a template word: `[--days`, `7]`, `(--all`. */
const bare = (w: string) => w.replace(/^[[(]+|[\])]+$/g, '');
const isEllipsis = (w: string) => /^(…|\.\.\.)$/.test(w);

// ----------------------------------------------------------------------------- npm scripts

const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

interface ScriptSpec {
  /** --options the script's parseArgs declares (null: it reads process.argv itself). */
  options: Map<string, 'string' | 'boolean'> | null;
  allowPositionals: boolean;
  /** Values of its command word (switch/=== on `command`/`cmd`), or null when it has none. */
  subcommands: Set<string> | null;
  /** The command word has a default (`const [cmd = 'open'] = …`). */
  subcommandOptional: boolean;
  /** Words package.json already passes (`tsx scripts/deploy.ts canary`). */
  fixed: string[];
}

function scriptSpec(name: string): ScriptSpec | null {
  const m = /^(?:tsx|node --import tsx) (scripts\/[\w-]+\.ts)((?: [\w:-]+)*)$/.exec(pkg.scripts[name]!);
  if (!m) return null; // not a Node script of ours (wrangler, vitest, …)
  const main = m[1]!;
  const spec: ScriptSpec = {
    options: null,
    allowPositionals: true,
    subcommands: null,
    subcommandOptional: false,
    fixed: m[2]!.trim().split(/\s+/).filter(Boolean),
  };
  const files = [main];
  const source = (file: string) => ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
  // Local modules it imports may hold its argument parsing (scripts/lib/dlq-args.ts).
  source(main).forEachChild((n) => {
    const file =
      ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text.startsWith('./')
        ? path.join(path.dirname(main), `${n.moduleSpecifier.text}.ts`)
        : undefined;
    if (file && existsSync(path.join(ROOT, file))) files.push(file);
  });
  const commandVar = (e: ts.Expression) => ts.isIdentifier(e) && /^(command|cmd)$/.test(e.text);
  const addSub = (s: string) => {
    spec.subcommands ??= new Set();
    spec.subcommands.add(s);
  };
  const propName = (p: ts.ObjectLiteralElementLike) =>
    p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : undefined;
  for (const file of files) {
    const visit = (n: ts.Node): void => {
      if (
        ts.isCallExpression(n) &&
        ['parseArgs', 'parseCli'].includes(n.expression.getText()) &&
        n.arguments[0] &&
        ts.isObjectLiteralExpression(n.arguments[0])
      ) {
        spec.options = new Map();
        // scripts/lib/cli.ts adds --help / -h to every parseCli call.
        if (n.expression.getText() === 'parseCli') spec.options.set('help', 'boolean');
        spec.allowPositionals = false; // parseArgs' default in strict mode
        for (const p of n.arguments[0].properties) {
          if (propName(p) === 'allowPositionals' && ts.isPropertyAssignment(p))
            spec.allowPositionals = p.initializer.kind === ts.SyntaxKind.TrueKeyword;
          if (propName(p) === 'options' && ts.isPropertyAssignment(p) && ts.isObjectLiteralExpression(p.initializer)) {
            for (const o of p.initializer.properties) {
              const type =
                ts.isPropertyAssignment(o) && ts.isObjectLiteralExpression(o.initializer)
                  ? o.initializer.properties.find((q) => propName(q) === 'type')
                  : undefined;
              const value =
                type && ts.isPropertyAssignment(type) && ts.isStringLiteral(type.initializer) ? type.initializer.text : 'string';
              spec.options.set(propName(o)!, value as 'string' | 'boolean');
            }
          }
        }
      }
      if (ts.isSwitchStatement(n) && commandVar(n.expression)) {
        for (const c of n.caseBlock.clauses) if (ts.isCaseClause(c) && ts.isStringLiteral(c.expression)) addSub(c.expression.text);
      }
      if (
        ts.isBinaryExpression(n) &&
        n.operatorToken.kind === ts.SyntaxKind.EqualsEqualsEqualsToken &&
        commandVar(n.left) &&
        ts.isStringLiteral(n.right)
      ) {
        addSub(n.right.text);
      }
      if (ts.isBindingElement(n) && ts.isIdentifier(n.name) && /^(command|cmd)$/.test(n.name.text) && n.initializer)
        spec.subcommandOptional = true;
      n.forEachChild(visit);
    };
    visit(source(file));
  }
  return spec;
}

const specs = new Map<string, ScriptSpec | null>();
function specOf(name: string) {
  if (!specs.has(name)) specs.set(name, scriptSpec(name));
  return specs.get(name)!;
}

/** Problems of one `npm run …` invocation (words after "npm run"). */
function npmProblems(words: string[]): string[] {
  const problems: string[] = [];
  while (words[0] === '-s' || words[0] === '--silent') words = words.slice(1);
  const [name, ...rest] = words;
  if (!name || !(name in pkg.scripts)) return [`no package.json script "${name}"`];
  if (rest.length > 0 && rest[0] !== '--') return [`arguments must follow "--" (npm run ${name} -- …)`];
  const spec = specOf(name);
  if (!spec) return problems;
  const args = [...spec.fixed, ...rest.slice(1)].map(bare).filter((w) => w && !isEllipsis(w));
  let positional = 0;
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.startsWith('--')) {
      const [opt, inlineValue] = w.slice(2).split(/=(.*)/s);
      if (spec.options && !spec.options.has(opt!))
        problems.push(`${name}: unknown option --${opt} (accepts ${[...spec.options.keys()].map((o) => `--${o}`).join(', ') || 'none'})`);
      if (spec.options?.get(opt!) === 'string' && inlineValue === undefined) i++;
      continue;
    }
    if (/^-[a-z]/i.test(w) && spec.options) {
      problems.push(`${name}: unknown option ${w}`);
      continue;
    }
    if (spec.options && !spec.allowPositionals) {
      problems.push(`${name}: takes no positional arguments (got "${w}")`);
      continue;
    }
    if (positional++ === 0 && spec.subcommands) {
      for (const alt of w.split('|'))
        if (!spec.subcommands.has(alt)) problems.push(`${name}: unknown subcommand "${alt}" (accepts ${[...spec.subcommands].join(', ')})`);
    }
  }
  if (spec.subcommands && positional === 0 && !spec.subcommandOptional)
    problems.push(`${name}: needs a subcommand (${[...spec.subcommands].join(', ')})`);
  return problems;
}

// ---------------------------------------------------------------------------------- wrangler

/**
 * wrangler's own command tree: `experimental_getWranglerCommands()` returns the registry of
 * `createCLIParser()`, the parser `npx wrangler` runs (its shell completion reads it too), with every
 * command, positional and option. One in-process call instead of one `wrangler <sub> --help` process
 * per command (~2 s of CPU each).
 */
interface WranglerArg {
  alias?: string | string[];
  type?: string;
  demandOption?: boolean;
}
interface WranglerNode {
  definition?: {
    type: 'command' | 'namespace' | 'alias';
    command: string;
    aliasOf?: string;
    args?: Record<string, WranglerArg>;
    positionalArgs?: string[];
  };
  subtree: Map<string, WranglerNode>;
}
const wranglerApi = createRequire(import.meta.url)('wrangler') as {
  experimental_getWranglerCommands?: () => { registry: WranglerNode; globalFlags: Record<string, WranglerArg> };
  experimental_readRawConfig(args: { config: string }): { rawConfig: RawWranglerConfig };
};
interface RawWranglerConfig {
  kv_namespaces?: { binding: string }[];
  triggers?: { crons?: string[] };
  env?: Record<string, RawWranglerConfig>;
}
const wranglerConfig = wranglerApi.experimental_readRawConfig({ config: path.join(ROOT, 'wrangler.toml') }).rawConfig;
const ENVS = new Set(Object.keys(wranglerConfig.env ?? {}));
const kvBindings = (env?: string) =>
  new Set(((env ? wranglerConfig.env?.[env] : wranglerConfig)?.kv_namespaces ?? []).map((k) => k.binding));
/** Variables the Worker reads: its config schemas' keys (src/config.ts, src/discovery/config.ts). */
const WORKER_VARS = new Set(
  ['src/config.ts', 'src/discovery/config.ts'].flatMap((f) => [...read(f).matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):\s/gm)].map((m) => m[1]!)),
);

let wranglerTree: { registry: WranglerNode; globalFlags: Record<string, WranglerArg> } | undefined;
function wranglerCommands() {
  if (!wranglerApi.experimental_getWranglerCommands) {
    throw new Error('wrangler no longer exports experimental_getWranglerCommands: check commands with `wrangler <sub> --help` instead');
  }
  wranglerTree ??= wranglerApi.experimental_getWranglerCommands();
  return wranglerTree;
}

/** Problems of one `npx wrangler …` invocation (the words after "wrangler"). */
function wranglerProblems(args: string[]): string[] {
  const { registry, globalFlags } = wranglerCommands();
  const words: string[] = [];
  let node = registry;
  for (const a of args) {
    let child = /^[a-z][a-z0-9-]*$/.test(a) ? node.subtree.get(a) : undefined;
    if (!child) break;
    if (child.definition?.type === 'alias') {
      child = child.definition
        .aliasOf!.split(' ')
        .slice(1)
        .reduce<WranglerNode | undefined>((n, w) => n?.subtree.get(w), registry);
      if (!child) break;
    }
    words.push(a);
    node = child;
  }
  const cmd = `wrangler ${words.join(' ')}`.trim();
  const rest = args.slice(words.length);
  const def = node.definition;
  if (!def) return [`wrangler has no command "${args[0]}"`];
  if (def.type === 'namespace') {
    const subs = [...node.subtree.keys()].join(', ');
    return [
      rest[0] && !rest[0].startsWith('-') ? `${cmd}: "${rest[0]}" is not a subcommand (${subs})` : `${cmd} needs a subcommand (${subs})`,
    ];
  }
  const problems: string[] = [];
  // Options by name and alias; an option that is not boolean takes the next word as its value.
  const options = new Map<string, { name: string; type?: string }>([['help', { name: 'help', type: 'boolean' }]]);
  for (const [name, a] of Object.entries({ ...globalFlags, ...def.args })) {
    if (def.positionalArgs?.includes(name)) continue;
    for (const n of [name, ...(a.alias === undefined ? [] : [a.alias].flat())]) options.set(n, { name, type: a.type });
  }
  const positionals: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const m = /^--?([\w-]+)(?:=(.*))?$/s.exec(rest[i]!);
    if (!m) {
      positionals.push(rest[i]!);
      continue;
    }
    const option = options.get(m[1]!);
    if (!option) {
      problems.push(`${cmd}: no option ${rest[i]!.split('=')[0]}`);
      continue;
    }
    const value = m[2] ?? (option.type === 'boolean' ? 'true' : rest[++i]);
    if (value !== undefined) values.set(option.name, value);
  }
  if (positionals.length > 0 && !def.positionalArgs?.length) problems.push(`${cmd} takes no positional argument (got "${positionals[0]}")`);
  const required = (def.positionalArgs ?? []).filter((p) => def.args?.[p]?.demandOption);
  if (positionals.length < required.length) problems.push(`${cmd} needs <${required.join('> <')}>`);
  const env = values.get('env');
  if (env !== undefined && !ENVS.has(env))
    problems.push(`${cmd}: --env ${env} is not an environment of wrangler.toml (${[...ENVS].join(', ')})`);
  const binding = values.get('binding');
  if (binding !== undefined && !kvBindings(env).has(binding)) {
    problems.push(
      `${cmd}: --binding ${binding} is not a KV namespace of wrangler.toml${env ? ` [env.${env}]` : ''} (${[...kvBindings(env)].join(', ')})`,
    );
  }
  const secret = positionals[0] ?? '';
  if (words[0] === 'secret' && ['put', 'delete'].includes(words[1] ?? '') && !/^<.*>$/.test(secret) && !WORKER_VARS.has(secret)) {
    problems.push(`${cmd}: "${secret}" is not a variable the Worker reads (${[...WORKER_VARS].join(', ')})`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------ routes

const METHOD_PATH = /\b(GET|POST|PUT|PATCH|DELETE|HEAD)\s+(\/[^\s`'"|)\]]*)/g;
const ROUTE_ROOTS = new Set(['v1', 'admin', 'functions', 'health', 'openapi.json', 'docs', '__scheduled']);
/** `wrangler dev --test-scheduled` serves /__scheduled locally; it is not a route of the app. */
const NOT_APP_ROUTES = new Set(['/__scheduled']);

/** Route-like paths in text: scheme and host removed, first segment one of the app's roots. */
function pathsIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.replace(/https?:\/\/[^/\s`'"]+/g, ' ').matchAll(/\/[A-Za-z0-9_.{}:<>*%@-]+(?:\/[A-Za-z0-9_.{}:<>*%@-]*)*/g)) {
    const p = m[0].replace(/[.:,]+$/, '').replace(/\/$/, '');
    if (ROUTE_ROOTS.has(p.split('/')[1]!) && !p.includes('*')) out.push(p);
  }
  return out;
}

/** METHOD and path of a curl command (words after "curl"). */
function curlRequest(words: string[]): { method: string; path: string } | undefined {
  let method: string | undefined;
  let data = false;
  let url: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (/^-[a-zA-Z]*X$/.test(w) || w === '--request') method = words[++i];
    else if (['-d', '--data', '--data-raw', '--json'].includes(w)) {
      data = true;
      i++;
    } else if (['-H', '--header', '-o', '-w', '-u', '--output', '--write-out'].includes(w)) i++;
    else if (!w.startsWith('-') && url === undefined) url = w;
  }
  const p = url ? pathsIn(url)[0] : undefined;
  return p ? { method: method ?? (data ? 'POST' : 'GET'), path: p } : undefined;
}

// ------------------------------------------------------------------------------------- tests

const docs = DOCS.map((file) => ({ file, md: read(file), parsed: parseMarkdown(read(file)) }));

describe.each(docs)('$file', ({ file, md, parsed }) => {
  it('every npm run names a package.json script, with subcommands and options it accepts', () => {
    const found = commands(parsed, 'npm run');
    expect(found.length).toBeGreaterThan(0);
    const problems = found.flatMap(({ words, where }) => npmProblems(words).map((p) => `${file} ${where}\n    → ${p}`));
    const tsxFiles = commands(parsed, 'npx tsx').map(({ words, where }) => ({ f: words[0]!, where }));
    for (const { f, where } of tsxFiles) if (!existsSync(path.join(ROOT, f))) problems.push(`${file} ${where}\n    → no file ${f}`);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every HTTP route it mentions is in the OpenAPI document (method included when given)', async () => {
    const { paths, extra } = await openApi();
    const templates = Object.entries(paths).map(([p, ops]) => ({
      re: new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
      methods: new Set(Object.keys(ops as object).map((m) => m.toUpperCase())),
    }));
    const exists = (method: string | undefined, p: string) => {
      if (NOT_APP_ROUTES.has(p)) return true;
      if (extra.some((r) => r.path === p && (!method || r.method === method))) return true;
      return templates.some((t) => t.re.test(p) && (!method || t.methods.has(method)));
    };
    const mentions: { method?: string; path: string; where: string }[] = [];
    md.split('\n').forEach((line, i) => {
      const text = line.replace(/\\\|/g, '|');
      for (const m of text.matchAll(METHOD_PATH)) {
        const p = pathsIn(m[2]!)[0];
        if (p) mentions.push({ method: m[1]!, path: p, where: `line ${i + 1}` });
      }
      for (const p of pathsIn(text)) mentions.push({ path: p, where: `line ${i + 1}` });
    });
    for (const { words, where } of commands(parsed, 'curl')) {
      const req = curlRequest(words);
      if (req) mentions.push({ ...req, where });
    }
    expect(mentions.length).toBeGreaterThan(0);
    const problems = mentions
      .filter((m) => !exists(m.method, m.path))
      .map((m) => `${file} ${m.where}: ${m.method ?? ''} ${m.path} is not a route of the app`);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every SQL statement runs (in a rolled-back transaction)', async () => {
    const units: { sql: string; where: string }[] = [];
    for (const b of parsed.blocks) if (b.lang === 'sql' && !b.skip) units.push({ sql: b.body, where: `sql block at line ${b.line}` });
    for (const { words, where } of commands(parsed, 'psql')) {
      const i = words.indexOf('-c');
      if (i >= 0 && words[i + 1]) units.push({ sql: words[i + 1]!, where });
    }
    for (const s of parsed.inline) {
      if (/^(SELECT|UPDATE|INSERT|DELETE|WITH)\s[\s\S]*;$/i.test(s.code))
        units.push({ sql: s.code, where: `line ${s.line}: ${s.code.slice(0, 80)}` });
    }
    const problems: string[] = [];
    for (const u of units) {
      await db.query('BEGIN');
      try {
        await db.query("SET LOCAL statement_timeout = '10s'");
        await db.query(u.sql);
      } catch (err) {
        problems.push(`${file} ${u.where}\n    → ${(err as Error).message}`);
      } finally {
        await db.query('ROLLBACK');
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every npx wrangler command uses a real subcommand, its options, and declared bindings/envs', () => {
    const found = commands(parsed, 'npx wrangler');
    // package.json scripts that are wrangler commands (`npm run deploy -- --env production`).
    for (const { words, where } of commands(parsed, 'npm run')) {
      const script = pkg.scripts[words[0]!];
      if (script?.startsWith('wrangler ') && !script.includes('&&'))
        found.push({ words: [...script.split(/\s+/).slice(1), ...words.slice(2)], where });
    }
    const problems = found.flatMap(({ words, where }) =>
      wranglerProblems(words.map(bare).filter((w) => w && !isEllipsis(w))).map((p) => `${file} ${where}\n    → ${p}`),
    );
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

describe('docs/RUNBOOK.md §1D', () => {
  const rows = read('docs/RUNBOOK.md')
    .split('\n')
    .filter((l) => /^\| `[\d*/ ]+` \|/.test(l))
    .map((l) =>
      l
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  const jobNames = (cell: string) => [...cell.matchAll(/`([a-z]+(?:-[a-z]+)+)`/g)].map((m) => m[1]!);

  it('lists exactly the Cron Triggers of wrangler.toml, in every environment', () => {
    const documented = rows.map((r) => r[0]!.replace(/`/g, ''));
    for (const config of [wranglerConfig, ...Object.values(wranglerConfig.env ?? {})]) {
      expect(documented).toEqual(config.triggers?.crons);
    }
  });

  it('names the jobs of each schedule (src/jobs.ts) in order, and which are pausable', async () => {
    const cronModule = '../../src/jobs';
    const { schedules } = (await import(/* @vite-ignore */ cronModule)) as {
      schedules: Record<string, { name: string; pausable?: boolean }[]>;
    };
    const documented = Object.fromEntries(rows.map((r) => [r[0]!.replace(/`/g, ''), { jobs: jobNames(r[2]!), pausable: jobNames(r[3]!) }]));
    const actual = Object.fromEntries(
      Object.entries(schedules).map(([cron, jobs]) => [
        cron,
        {
          jobs: jobs.map((j) => j.name),
          pausable: jobs.filter((j) => j.pausable).map((j) => j.name),
        },
      ]),
    );
    expect(documented).toEqual(actual);
  });
});

describe('README.md lists everything', () => {
  const readme = read('README.md');
  /** First-column cells of the table rows of a `## heading` section. */
  const firstCells = (heading: string) => {
    const start = readme.indexOf(`\n## ${heading}\n`);
    const end = readme.indexOf('\n## ', start + 1);
    return readme
      .slice(start, end < 0 ? undefined : end)
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split(/(?<!\\)\|/)[1]!);
  };
  it('every package.json script, in the Commands table', () => {
    const cells = firstCells('Commands').join('\n');
    const missing = Object.keys(pkg.scripts).filter(
      (s) => !(s === 'test' ? /`npm test\b/ : new RegExp(`\`npm run ${s.replace(/[.:]/g, '\\$&')}(?=[\\s\`])`)).test(cells),
    );
    expect(missing, `not in README.md: ${missing.join(', ')}`).toEqual([]);
  });
  it('every variable the Worker reads (its config schemas), in the Configuration table', () => {
    const listed = new Set(firstCells('Configuration').flatMap((cell) => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1]!)));
    const missing = [...WORKER_VARS].filter((v) => !listed.has(v));
    expect(WORKER_VARS.size).toBeGreaterThan(10);
    expect(missing, `not in README.md: ${missing.join(', ')}`).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------ fixtures

let db: pg.Client;
let fresh: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  // A private clone of the migrated and seeded template: statements run as an operator would run
  // them, and nothing (not even a row lock) reaches the database other test files share.
  fresh = await freshDatabase();
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db?.end();
  await fresh?.drop();
});

let openApiDoc: Promise<{ paths: Record<string, unknown>; extra: { method: string; path: string }[] }> | undefined;
/**
 * The OpenAPI document /openapi.json serves (createApp().getOpenAPI31Document(OPENAPI_INFO)), plus
 * the app's non-OpenAPI routes (/openapi.json and /docs themselves). src/ is Worker code: imported
 * by a computed specifier so the Node type-check (tsconfig.node.json) does not compile it.
 */
function openApi() {
  openApiDoc ??= (async () => {
    const appModule = '../../src/app';
    const { createApp, OPENAPI_INFO } = await import(/* @vite-ignore */ appModule);
    const app = createApp();
    const doc = app.getOpenAPI31Document(OPENAPI_INFO);
    const extra = (app.routes as { method: string; path: string }[])
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*') && !(r.path in doc.paths))
      .map((r) => ({ method: r.method, path: r.path }));
    return { paths: doc.paths as Record<string, unknown>, extra };
  })();
  return openApiDoc;
}

// The helpers above are pure; keep them honest on the cases the docs rely on.
describe('runbook parsing helpers', () => {
  it('splits shell words like a shell, stopping at pipes, redirects and comments', () => {
    expect(shellWords(`flags -- set global.safe_mode '{"enabled":true}' --reason "SLO burn > 2" | jq`)).toEqual([
      'flags',
      '--',
      'set',
      'global.safe_mode',
      '{"enabled":true}',
      '--reason',
      'SLO burn > 2',
    ]);
    expect(shellWords(`"$DATABASE_URL" -c "UPDATE x SET v = '{\\"a\\": 1}';"  # comment`)).toEqual([
      '$DATABASE_URL',
      '-c',
      `UPDATE x SET v = '{"a": 1}';`,
    ]);
    expect(shellWords('-s token -- 00000000-0000-0000-0000-000000000001)')).toEqual([
      '-s',
      'token',
      '--',
      '00000000-0000-0000-0000-000000000001',
    ]);
    expect(shellWords('dlq -- list|redrive|purge 2>/dev/null')).toEqual(['dlq', '--', 'list|redrive|purge']);
    expect(shellWords('queues create "$q"; done')).toEqual(['queues', 'create', '$q']);
  });
  it('finds routes in URLs and prose, not in file paths', () => {
    expect(pathsIn('curl -s "$API_URL/admin/flags/global.safe_mode" and https://<worker>/health.')).toEqual([
      '/admin/flags/global.safe_mode',
      '/health',
    ]);
    expect(pathsIn('src/handlers/health.ts, test/worker/app.test.ts, /v1/* and docs/RUNBOOK.md')).toEqual([]);
    expect(curlRequest(shellWords('-sX PUT "$API_URL/admin/flags/x" -H "a: b" -d \'{}\''))).toEqual({
      method: 'PUT',
      path: '/admin/flags/x',
    });
    expect(curlRequest(shellWords('-s -H "Authorization: Bearer k" "$API_URL/admin/ops/pause"'))).toEqual({
      method: 'GET',
      path: '/admin/ops/pause',
    });
  });
  it('reads wrangler invocations as wrangler does', () => {
    expect(wranglerProblems(shellWords(`kv key put --binding FLAGS global.safe_mode '{"enabled":true}' -e production --remote`))).toEqual(
      [],
    );
    expect(wranglerProblems(shellWords('versions deploy --yes v1@100% --env production'))).toEqual([]);
    expect(wranglerProblems(shellWords('kv key put --binding FLAGS k v -e prod'))[0]).toMatch(/--env prod is not an environment/);
    expect(wranglerProblems(shellWords('kv key put --binding NOPE k v'))[0]).toMatch(/--binding NOPE is not a KV namespace/);
    expect(wranglerProblems(shellWords('kv keys put k v'))[0]).toMatch(/"keys" is not a subcommand/);
    expect(wranglerProblems(shellWords('kv key put'))[0]).toMatch(/needs <key>/);
    expect(wranglerProblems(shellWords('whoami now'))[0]).toMatch(/takes no positional/);
    expect(wranglerProblems(shellWords('tail --env production --format json --follow'))[0]).toMatch(/no option --follow/);
    expect(wranglerProblems(shellWords('secret put SERVICE_KEY --env production'))[0]).toMatch(/not a variable the Worker reads/);
  });
  it('rejects what the scripts would reject', () => {
    expect(npmProblems(['flags', '--', 'list'])).toEqual([]);
    expect(npmProblems(['flags', '--', 'toggle', 'x'])[0]).toMatch(/unknown subcommand "toggle"/);
    expect(npmProblems(['flags'])[0]).toMatch(/needs a subcommand/);
    expect(npmProblems(['alerts'])).toEqual([]);
    expect(npmProblems(['dlq', '--', 'purge', '--all', '--older-then', '7d'])[0]).toMatch(/unknown option --older-then/);
    expect(npmProblems(['deploy:canary', '--', '--percent', '5', '--env', 'production'])).toEqual([]);
    expect(npmProblems(['rollback', '--', 'now'])[0]).toMatch(/no positional arguments/);
    expect(npmProblems(['smoke', '--url', 'x'])[0]).toMatch(/must follow "--"/);
    expect(npmProblems(['nope'])[0]).toMatch(/no package.json script/);
  });
});
