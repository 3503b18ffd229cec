// The deployment as Cloudflare reports it — the only truth about which versions serve which share
// of traffic (issue 20: a local state file let another operator's machine see "no canary" while a
// split was live, and a rollback after a promote deployed "undefined"). Two read-only wrangler
// calls, in the JSON shapes of wrangler 4.x:
//   wrangler deployments status --json → {id, source, strategy, created_on, annotations,
//                                          versions: [{version_id, percentage}]}
//   wrangler versions list --json      → [{id, number, metadata: {created_on, …}, annotations}]
// In a split of two versions the canary is the newer one (its created_on), whatever its share.
import { z } from 'zod';
import { runWrangler } from './wrangler-cli';

const Deployment = z.object({
  id: z.string().optional(),
  versions: z.array(z.object({ version_id: z.string().min(1), percentage: z.number() })).min(1),
});
const Versions = z.array(z.object({ id: z.string(), metadata: z.object({ created_on: z.string() }).passthrough() }).passthrough());

export interface LiveDeployment {
  versions: { version_id: string; percentage: number }[];
  /** A split of two versions: the newer is the canary. */
  split?: { canary: string; stable: string; percent: number };
}

function json(stdout: string): unknown {
  const start = stdout.search(/[[{]/);
  if (start < 0) throw new Error(`wrangler printed no JSON: ${stdout.slice(0, 200)}`);
  return JSON.parse(stdout.slice(start));
}

export function readLiveDeployment(envArgs: string[]): LiveDeployment {
  const deployment = Deployment.parse(json(runWrangler(['deployments', 'status', '--json', ...envArgs]).stdout));
  const versions = [...deployment.versions].sort((a, b) => b.percentage - a.percentage);
  if (versions.length === 1) return { versions };
  if (versions.length > 2) throw new Error(`the deployment splits ${versions.length} versions; expected at most 2`);
  const created = new Map(
    Versions.parse(json(runWrangler(['versions', 'list', '--json', ...envArgs]).stdout)).map((v) => [v.id, v.metadata.created_on]),
  );
  const [a, b] = versions as [LiveDeployment['versions'][number], LiveDeployment['versions'][number]];
  const ca = created.get(a.version_id);
  const cb = created.get(b.version_id);
  if (!ca || !cb) throw new Error(`wrangler versions list does not list ${!ca ? a.version_id : b.version_id}`);
  const [canary, stable] = ca > cb ? [a, b] : [b, a];
  return { versions, split: { canary: canary.version_id, stable: stable.version_id, percent: canary.percentage } };
}

export function describeLive(live: LiveDeployment, env: string): string {
  if (!live.split) return `no canary in progress for ${env}: ${live.versions[0]!.version_id} at ${live.versions[0]!.percentage}%`;
  const s = live.split;
  return `canary ${s.canary} at ${s.percent}% (stable ${s.stable} at ${100 - s.percent}%) for ${env}`;
}
