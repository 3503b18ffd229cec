// Local defaults (DESIGN.md §4) shared by the Node scripts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DEFAULT_PG_PORT = 54329;
export const DEFAULT_PROXY_PORT = 54330;
export const DEFAULT_API_PORT = 8787;
export const DEFAULT_DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${DEFAULT_PG_PORT}/postgres`;

/** Parse a .dev.vars / .env file (KEY=value lines; # comments). */
export function readDotVars(file = path.join(ROOT, '.dev.vars')): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** DATABASE_URL from the environment, else .dev.vars, else the embedded default. */
export function databaseUrl(): string {
  return process.env.DATABASE_URL || readDotVars().DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** A numeric knob from the environment (benchmarks, the simulator), else its default. */
export function envNumber(name: string, fallback: number): number {
  return Number(process.env[name] ?? fallback);
}

/** One clear line and a non-zero exit; no stack trace for expected failures. */
export function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}
