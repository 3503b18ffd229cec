// OpenFeature server SDK provider (dynamic context): every evaluation names its user through the
// context, and the flags are those the API evaluates for that user's token. Runs in Workers and
// Node (fetch only).
//
// The context carries the user's bearer token (by default `context.token`, as the server received
// it from the client app; the API applies that user's rollout buckets); without one the
// evaluation is anonymous. Answers are cached per token for `cacheTtlMs` (default 5 s, the
// Worker's own flag cache): one request per user and period, not one per evaluation.
// Only answers are cached, never a fetch in flight: workerd forbids awaiting I/O started by
// another request, so requests never share a pending promise.
// An unreachable API gives the caller's default with reason ERROR (GENERAL); nothing throws.
import type { EvaluationContext, JsonValue, Provider, ResolutionDetails } from '@openfeature/server-sdk';
import { type FlagType, resolveFlag } from './mapping';
import { type FetchFlagsOptions, fetchFlagDetails, type WireFlagDetails } from './wire';

export interface ServerProviderOptions extends Omit<FetchFlagsOptions, 'token'> {
  /** The user's token from the evaluation context (default: `context.token` when a string). */
  token?: (context: EvaluationContext) => string | undefined;
  /** How long an answer is reused for the same token (default 5 s; 0: no cache). */
  cacheTtlMs?: number;
  /** At most this many tokens cached (default 1,000); the oldest entry goes first. */
  maxCacheEntries?: number;
}

const defaultToken = (context: EvaluationContext) => (typeof context.token === 'string' ? context.token : undefined);

export class EdgeServerProvider implements Provider {
  readonly metadata = { name: 'edge-discovery-server' } as const;
  readonly runsOn = 'server' as const;
  private readonly cache = new Map<string, { details: WireFlagDetails; expiresAt: number }>();

  constructor(private readonly options: ServerProviderOptions) {}

  private async details(context: EvaluationContext): Promise<{ details?: WireFlagDetails; failure?: string }> {
    const token = (this.options.token ?? defaultToken)(context);
    const key = token ?? '';
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return { details: hit.details };
    try {
      const details = await fetchFlagDetails({ ...this.options, token });
      const ttl = this.options.cacheTtlMs ?? 5_000;
      if (ttl > 0) {
        this.cache.delete(key);
        this.cache.set(key, { details, expiresAt: Date.now() + ttl });
        if (this.cache.size > (this.options.maxCacheEntries ?? 1_000)) this.cache.delete(this.cache.keys().next().value!);
      }
      return { details };
    } catch (err) {
      return { failure: `GET /v1/flags failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  private async resolve<T extends JsonValue>(key: string, def: T, type: FlagType, ctx: EvaluationContext): Promise<ResolutionDetails<T>> {
    const { details, failure } = await this.details(ctx);
    return resolveFlag(details, key, def, type, failure);
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flagKey, defaultValue, 'boolean', context);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, defaultValue, 'string', context);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return this.resolve(flagKey, defaultValue, 'number', context);
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.resolve(flagKey, defaultValue, 'object', context);
  }

  async onClose(): Promise<void> {
    this.cache.clear();
  }
}
