// npm run client:generate [-- --from URL] [--check]
// Writes clients/typescript/src/schema.d.ts from the OpenAPI document the Worker serves.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCli } from './lib/cli';
import { CLIENT_SCHEMA_FILE, clientSchemaSource, fetchDocument, servedDocument } from './lib/client-types';
import { ROOT } from './lib/env';

const USAGE = `usage: npm run client:generate [-- --from URL] [--check]
  Generates the typed client's schema (clients/typescript/src/schema.d.ts) with openapi-typescript
  from the document GET /openapi.json answers with: by default the one this checkout's Worker builds
  (createApp(), no stack needed); with --from, the one a running stack serves (e.g.
  --from http://127.0.0.1:8787). --check writes nothing and exits 1 when the committed file differs.`;

const { values } = parseCli({ options: { from: { type: 'string' }, check: { type: 'boolean', default: false } } }, USAGE);
const doc = values.from ? await fetchDocument(values.from) : await servedDocument();
const source = await clientSchemaSource(doc);
const relative = path.relative(ROOT, CLIENT_SCHEMA_FILE);
if (values.check) {
  let committed = '';
  try {
    committed = readFileSync(CLIENT_SCHEMA_FILE, 'utf8');
  } catch {}
  if (committed !== source) {
    console.error(`error: ${relative} is out of date; run \`npm run client:generate\` and commit it`);
    process.exit(1);
  }
  console.log(`${relative} is up to date`);
} else {
  writeFileSync(CLIENT_SCHEMA_FILE, source);
  console.log(`wrote ${relative} (${Object.keys(doc.paths ?? {}).length} paths)`);
}
