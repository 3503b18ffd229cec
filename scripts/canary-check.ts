// npm run canary:check [-- --database-url <pg>] — go/no-go for the running canary from the
// guide's thresholds; exit 0 = go, 1 = no-go, 2 = could not evaluate.
import { parseArgs } from 'node:util';
import { evaluateGate, formatGate } from './lib/canary-gate';

const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, json: { type: 'boolean', default: false } } });
const url = values['database-url'] ?? process.env.DATABASE_URL;
if (!url) {
  console.error('error: pass --database-url or set DATABASE_URL');
  process.exit(2);
}
try {
  const result = await evaluateGate(url);
  console.log(values.json ? JSON.stringify(result, null, 2) : formatGate(result));
  process.exit(result.go ? 0 : 1);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(2);
}
