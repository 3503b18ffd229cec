// A stand-in for the wrangler CLI for tests of commands that need a Cloudflare account: it records
// every invocation and simulates the deployment state (versions and their percentages).
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = `#!/usr/bin/env node
const fs = require('fs');
const args = process.argv.slice(2);
const dir = process.env.FAKE_WRANGLER_DIR;
fs.appendFileSync(dir + '/calls.ndjson', JSON.stringify(args) + '\\n');
const statePath = dir + '/deployment.json';
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const out = (o) => process.env.WRANGLER_OUTPUT_FILE_PATH && fs.appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify(o) + '\\n');
const known = () => state.known || state.versions.map((v, i) => ({ id: v.version_id, created_on: '2026-01-0' + (i + 1) + 'T00:00:00.000Z' }));
if (args[0] === 'deployments' && args[1] === 'status') {
  // wrangler 4.x --json: the API's deployment object, as is.
  process.stdout.write(JSON.stringify({ id: 'dep-' + (state.deploys || 0), source: 'wrangler', strategy: 'percentage', author_email: 'ops@example.test', created_on: '2026-02-01T00:00:00.000Z', annotations: { 'workers/triggered_by': 'deployment' }, versions: state.versions }, null, 2));
} else if (args[0] === 'versions' && args[1] === 'list') {
  // wrangler 4.x --json: the versions, oldest first, with their metadata.
  process.stdout.write(JSON.stringify(known().map((v, i) => ({ id: v.id, number: i + 1, metadata: { created_on: v.created_on, source: 'wrangler', author_email: 'ops@example.test' }, annotations: {} })), null, 2));
} else if (args[0] === 'versions' && args[1] === 'upload') {
  const id = 'v-new-' + (state.uploads = (state.uploads || 0) + 1);
  state.known = known().concat([{ id, created_on: '2026-03-0' + state.uploads + 'T00:00:00.000Z' }]);
  fs.writeFileSync(statePath, JSON.stringify(state));
  out({ type: 'version-upload', version_id: id });
  process.stdout.write('Worker Version ID: ' + id + '\\n');
} else if (args[0] === 'versions' && args[1] === 'deploy') {
  const specs = args.slice(2).filter((a) => /@\\d+%$/.test(a)).map((s) => ({ version_id: s.split('@')[0], percentage: Number(s.split('@')[1].replace('%', '')) }));
  state.known = known();
  state.versions = specs;
  state.deploys = (state.deploys || 0) + 1;
  fs.writeFileSync(statePath, JSON.stringify(state));
  out({ type: 'version-deploy', version_traffic: specs });
} else {
  process.stderr.write('fake wrangler: unsupported ' + args.join(' '));
  process.exit(3);
}
`;

export interface FakeWrangler {
  dir: string;
  /** PATH with the fake first. */
  path: string;
  calls(): string[][];
  deployment(): { version_id: string; percentage: number }[];
}

export function fakeWrangler(initial = [{ version_id: 'v-stable', percentage: 100 }]): FakeWrangler {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-wrangler-'));
  writeFileSync(path.join(dir, 'wrangler'), SCRIPT);
  chmodSync(path.join(dir, 'wrangler'), 0o755);
  writeFileSync(path.join(dir, 'calls.ndjson'), '');
  writeFileSync(path.join(dir, 'deployment.json'), JSON.stringify({ versions: initial }));
  return {
    dir,
    path: `${dir}:${process.env.PATH}`,
    calls: () =>
      readFileSync(path.join(dir, 'calls.ndjson'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    deployment: () => JSON.parse(readFileSync(path.join(dir, 'deployment.json'), 'utf8')).versions,
  };
}
