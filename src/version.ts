// What /health reports as the running version: the deployment's version metadata when bound.
export const APP_VERSION = '0.1.0';

export function runningVersion(env: Env): { app: string; id?: string; tag?: string } {
  const meta = env.CF_VERSION_METADATA;
  return { app: APP_VERSION, id: meta?.id || undefined, tag: meta?.tag || undefined };
}

/** The metrics operation under which every request of this deployment version is also recorded. */
export function versionOperation(env: Env): string {
  return `version:${env.CF_VERSION_METADATA?.id || 'unknown'}`;
}
