// The typed client cannot drift from the API (issue 15): clients/typescript/src/schema.d.ts must be
// byte for byte what openapi-typescript generates from the document the Worker serves. That document
// is built here as GET /openapi.json builds it (createApp().getOpenAPI31Document; the worker contract
// test checks the served bytes equal it inside workerd, and client-example.test.ts regenerates from
// a running stack's /openapi.json too). The generator runs in Node: it cannot run inside workerd.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCHEMA_FILE, clientSchemaSource, servedDocument } from '../../scripts/lib/client-types';

describe('the committed typed client', () => {
  it('is what the served OpenAPI document generates (else: run npm run client:generate)', async () => {
    const doc = await servedDocument();
    const fresh = await clientSchemaSource(doc);
    const committed = readFileSync(CLIENT_SCHEMA_FILE, 'utf8');
    expect(committed === fresh, 'clients/typescript/src/schema.d.ts is out of date: run npm run client:generate and commit it').toBe(true);

    // The comparison sees a change to the contract: one response field renamed changes the output.
    const changed = structuredClone(doc) as any;
    const rank = changed.components.schemas.RankResponse.properties;
    rank.decision = rank.decision_id;
    delete rank.decision_id;
    expect(await clientSchemaSource(changed)).not.toBe(committed);
  }, 60_000);
});
