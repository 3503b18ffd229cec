// Who performed an admin action, for ai_action_ledger: the service-key caller may name itself
// with x-actor (the CLI sends 'cli', the dashboard 'dashboard'); otherwise 'api:service'.
import type { Context } from 'hono';
import type { AppEnv } from '../platform/app-env';

const SAFE_ACTOR = /^[A-Za-z0-9:._-]{1,64}$/;

export function serviceActor(c: Context<AppEnv>): string {
  const named = c.req.header('x-actor');
  return named && SAFE_ACTOR.test(named) ? named : 'api:service';
}
