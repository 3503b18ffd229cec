// The shape of src/ (docs/ARCHITECTURE.md): no import cycles, small modules, and the layering
// rules that keep the composition at the top and the types at the bottom.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(name) ? [full] : [];
  });
}

const files = sourceFiles(SRC).map((f) => path.relative(SRC, f));
const importsOf = (file: string) =>
  [...readFileSync(path.join(SRC, file), 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);
const resolved = (file: string, spec: string) => path.normalize(path.join(path.dirname(file), spec));

describe('src/ architecture', () => {
  it('has no import cycle (type-only imports included)', async () => {
    const graph = await madge(SRC, {
      fileExtensions: ['ts', 'tsx'],
      tsConfig: path.join(ROOT, 'tsconfig.json'),
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    });
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(80); // the whole tree was read
    expect(graph.circular()).toEqual([]);
    // madge parses every module with the TypeScript compiler: ~2 s alone, 8–9 s while the 2-core
    // machine is busy (seen in .ci/run), past vitest's 5 s default.
  }, 60_000);

  it('keeps every module under 300 lines', () => {
    const long = files.filter((f) => readFileSync(path.join(SRC, f), 'utf8').split('\n').length > 300);
    expect(long).toEqual([]);
  });

  it('imports downwards: platform, db, http, auth and util never import a feature, a handler or the composition root', () => {
    const low = /^(platform|db|http|auth|util)\//;
    const allowed =
      /^(platform|db|http|auth|util|observability\/(logger|metrics|collector|histogram)|ratelimit\/(middleware|config|client-ip|rate-limiter)|config|version)(\/|$)/;
    const violations = files
      .filter((f) => low.test(f))
      .flatMap((f) =>
        importsOf(f)
          .filter((s) => s.startsWith('.'))
          .map((s) => [f, resolved(f, s)] as const),
      )
      .filter(([, target]) => !allowed.test(target))
      .map(([f, target]) => `${f} → ${target}`);
    expect(violations).toEqual([]);
  });

  it('keeps SQL out of handlers: no sql template or query call in src/handlers', () => {
    const offenders = files
      .filter((f) => f.startsWith('handlers/'))
      .filter((f) => /\bsql`|\.execute\(|queryRows|queryOne|\.query\(/.test(readFileSync(path.join(SRC, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
