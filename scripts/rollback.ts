// npm run rollback — RENAMED, kept as an alias for one release: the name invited the wrong command
// at 3 a.m. (it never rolled back code). It prints the new names, then does what it always did:
//   npm run rollback -- [--reason "…"] [--env production]   = npm run ops:halt
//   npm run rollback -- --undo [--reason "…"]                = npm run ops:resume
// Remove it (and its package.json entry) in the release after issue 21.
import { apiConfig } from './lib/api-client';
import { parseCli } from './lib/cli';
import { halt, resume } from './lib/ops-halt';
import { announceApi } from './lib/target';

const RENAMED = `note: \`npm run rollback\` is renamed — it never rolled back code. Use:
  npm run ops:halt     safe mode on + background jobs paused (what \`npm run rollback\` did)
  npm run ops:resume   background jobs resumed + safe mode off (what \`npm run rollback -- --undo\` did)
  npm run deploy:rollback   roll the code back to the stable version (canary split)
This alias goes away in the next release.`;

const USAGE = `${RENAMED}

usage (alias): npm run rollback -- [--undo] [--reason "…"] [--env staging|production]`;

const { values } = parseCli(
  { options: { undo: { type: 'boolean', default: false }, reason: { type: 'string' }, env: { type: 'string' } } },
  USAGE,
);
process.stderr.write(`${RENAMED}\n\n`);
announceApi(apiConfig().baseUrl, values.env);
const opts = { reason: values.reason, env: values.env ?? 'production' };
if (values.undo) await resume(opts);
else await halt(opts);
