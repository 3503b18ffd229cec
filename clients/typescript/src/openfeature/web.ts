// OpenFeature web SDK provider (static-context paradigm): the flags are fetched once for the
// current user, cached, and evaluated synchronously from the cache. A timer refreshes them; when a
// value changes the provider emits PROVIDER_CONFIGURATION_CHANGED with the changed keys, so an app
// can re-render (e.g. the abort switch `global.safe_mode` turned on by on-call).
//
// A failed refresh keeps the last answer (a static-context app expects stable values) and is
// retried at the next tick; with no answer at all every evaluation is the caller's default with
// reason ERROR (GENERAL). Neither initialize() nor a refresh ever rejects into the app.
import {
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
} from '@openfeature/web-sdk';
import { resolveFlag } from './mapping';
import { changedKeys, type FetchFlagsOptions, fetchFlagDetails, type WireFlagDetails } from './wire';

export interface WebProviderOptions extends Omit<FetchFlagsOptions, 'token'> {
  /** The signed-in user's token, read at every fetch (it may be renewed); undefined: anonymous. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** Refresh period (default 30 s; 0 disables the timer). The Worker itself caches flags ~5 s. */
  refreshIntervalMs?: number;
}

export class EdgeWebProvider implements Provider {
  readonly metadata = { name: 'edge-discovery-web' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  private details: WireFlagDetails | undefined;
  private failure: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> | undefined;
  /** initialize() has returned: from then on a first answer is news to the app too. */
  private initialized = false;

  constructor(private readonly options: WebProviderOptions) {}

  async initialize(_context?: EvaluationContext): Promise<void> {
    await this.refresh();
    this.initialized = true;
    const every = this.options.refreshIntervalMs ?? 30_000;
    if (every > 0 && this.timer === undefined) this.timer = setInterval(() => void this.refresh(), every);
  }

  /** A new context usually means a sign-in or sign-out: fetch with the (new) token at once. */
  async onContextChange(): Promise<void> {
    await this.refresh();
  }

  async onClose(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Fetch now; emits PROVIDER_CONFIGURATION_CHANGED when a value changed. Never rejects. */
  refresh(): Promise<void> {
    // One fetch at a time: a slow answer must not be overtaken by an older one.
    this.refreshing ??= this.fetchOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async fetchOnce(): Promise<void> {
    try {
      const token = await this.options.token?.();
      const next = await fetchFlagDetails({ ...this.options, token });
      const before = this.details;
      this.details = next;
      this.failure = undefined;
      const flagsChanged = changedKeys(before, next);
      // The answer of initialize() is the provider becoming ready (the SDK emits READY), not a change;
      // a first answer after an unreachable start is (every flag goes from the default to its value).
      if (this.initialized && flagsChanged.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
    } catch (err) {
      this.failure = `GET /v1/flags failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return resolveFlag(this.details, flagKey, defaultValue, 'boolean', this.failure);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return resolveFlag(this.details, flagKey, defaultValue, 'string', this.failure);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return resolveFlag(this.details, flagKey, defaultValue, 'number', this.failure);
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return resolveFlag(this.details, flagKey, defaultValue, 'object', this.failure);
  }
}
