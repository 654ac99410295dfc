import { createHash } from 'node:crypto';
import { ErrorName, TransferError } from '../errors';
import { describeEndpoint } from './endpoint';
import {
  fetchTeaCredentials,
  type CredentialsLog,
  type TeaCredentials,
  type TeaFetchOptions,
  type TeaRequest,
} from './tea-client';

/** The AWS SDK v3 credential identity (structurally `AwsCredentialIdentity`). */
export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** An AWS SDK v3 credential provider: `new S3Client({ credentials: provider })`. */
export type SessionCredentialsProvider = () => Promise<SessionCredentials>;

export interface RefreshingCredentialsOptions extends TeaFetchOptions {
  /** @default Date.now */
  now?: () => number;
  /** Refresh when this close to expiry, at most. @default 300000 (5 minutes) */
  refreshMarginMs?: number;
  /** ...and at most this fraction of the credential's observed lifetime. @default 0.2 */
  refreshMarginFraction?: number;
  /**
   * After a failed proactive refresh, keep serving the still-valid credentials this long before asking
   * the endpoint again. @default 10000
   */
  failureCooldownMs?: number;
  /** @default fetchTeaCredentials with these options */
  fetcher?: (request: TeaRequest) => Promise<TeaCredentials>;
}

/** How long before the reported expiry the SDK asks its provider again (@smithy/core EXPIRATION_MS). */
const SDK_REFRESH_WINDOW_MS = 300_000;

interface Cached {
  readonly credentials: TeaCredentials;
  readonly expiresAt: number;
  readonly refreshAt: number;
  readonly generation: number;
}

/**
 * TEA credentials cached in memory and refreshed before they expire, on demand after an expiry error
 * ({@link invalidate}), one refresh at a time. `provider` plugs into any AWS SDK v3 client.
 *
 * The identity handed to the SDK reports an expiration at most 5 minutes ahead, so the SDK (which
 * memoizes providers until 5 minutes before expiration) asks on every request and an `invalidate()`
 * reaches clients at once; those calls are answered from the cache.
 */
export class RefreshingCredentials {
  readonly now: () => number;
  private readonly fetcher: (request: TeaRequest) => Promise<TeaCredentials>;
  private readonly marginMs: number;
  private readonly marginFraction: number;
  private readonly cooldownMs: number;
  private readonly log?: CredentialsLog;
  private cached?: Cached;
  private invalidated = false;
  private inFlight?: Promise<Cached>;
  private retryNotBefore = 0;
  private calls = 0;
  private refreshCount = 0;

  constructor(
    private readonly request: TeaRequest,
    options: RefreshingCredentialsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.fetcher = options.fetcher ?? ((r) => fetchTeaCredentials(r, options));
    this.marginMs = options.refreshMarginMs ?? SDK_REFRESH_WINDOW_MS;
    this.marginFraction = options.refreshMarginFraction ?? 0.2;
    this.cooldownMs = options.failureCooldownMs ?? 10_000;
    this.log = options.log;
  }

  /** The credential provider for AWS SDK v3 clients. */
  readonly provider: SessionCredentialsProvider = () => this.get();

  /** Times the endpoint was asked for credentials (retries inside one fetch count once). */
  get endpointCalls(): number {
    return this.calls;
  }

  /** Times cached credentials were replaced by new ones (the first fetch is not a refresh). */
  get refreshes(): number {
    return this.refreshCount;
  }

  /** Epoch milliseconds at which the cached credentials expire; undefined before the first fetch. */
  get expiresAt(): number | undefined {
    return this.cached?.expiresAt;
  }

  /** Increases with every new set of credentials; pass it to {@link invalidate} to invalidate only those. */
  get generation(): number {
    return this.cached?.generation ?? 0;
  }

  /**
   * Makes the next call fetch new credentials. With `generation`, only if the cached credentials are
   * still that generation (a concurrent caller may already have refreshed them).
   */
  invalidate(generation?: number): void {
    if (generation === undefined || generation === this.generation) {
      this.invalidated = true;
      this.retryNotBefore = 0;
    }
  }

  /** Current credentials, refreshed first if they are due. */
  async get(): Promise<SessionCredentials> {
    const now = this.now();
    const cached = this.cached;
    if (cached && !this.invalidated) {
      if (now < cached.refreshAt) return this.identity(cached, now);
      // Due for a proactive refresh but still valid: a failing endpoint must not stop the work.
      if (now < cached.expiresAt) {
        if (now < this.retryNotBefore) return this.identity(cached, now);
        try {
          return this.identity(await this.refresh(), this.now());
        } catch (error) {
          this.retryNotBefore = this.now() + this.cooldownMs;
          this.log?.warn('credentials refresh failed; using the current ones until they expire', {
            endpoint: describeEndpoint(this.request.endpoint),
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
          return this.identity(cached, this.now());
        }
      }
    }
    return this.identity(await this.refresh(), this.now());
  }

  private identity(cached: Cached, now: number): SessionCredentials {
    const { accessKeyId, secretAccessKey, sessionToken } = cached.credentials;
    return {
      accessKeyId,
      secretAccessKey,
      sessionToken,
      expiration: new Date(Math.min(cached.expiresAt, now + SDK_REFRESH_WINDOW_MS)),
    };
  }

  private refresh(): Promise<Cached> {
    this.inFlight ??= this.fetchNew().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetchNew(): Promise<Cached> {
    this.calls++;
    const credentials = await this.fetcher(this.request);
    const fetchedAt = this.now();
    const expiresAt = credentials.expiration.getTime();
    if (!(expiresAt > fetchedAt)) {
      throw new TransferError(
        ErrorName.CredentialsEndpointError,
        `${describeEndpoint(this.request.endpoint)} returned credentials that have already expired ` +
          `(expiration ${credentials.expiration.toISOString()}, local clock ${new Date(fetchedAt).toISOString()}): ` +
          'check the system clock',
      );
    }
    const margin = Math.min(this.marginMs, this.marginFraction * (expiresAt - fetchedAt));
    const next: Cached = {
      credentials,
      expiresAt,
      refreshAt: expiresAt - margin,
      generation: this.generation + 1,
    };
    if (this.cached) this.refreshCount++;
    this.cached = next;
    this.invalidated = false;
    this.retryNotBefore = 0;
    this.log?.debug('fetched credentials', {
      endpoint: describeEndpoint(this.request.endpoint),
      expiration: credentials.expiration.toISOString(),
      generation: next.generation,
    });
    return next;
  }
}

const MAX_CACHED_INSTANCES = 32;
const instances = new Map<string, RefreshingCredentials>();

/** The cache key: a hash, so that no token is ever held as a key (or shown when the map is logged). */
function instanceKey(request: TeaRequest): string {
  const secret = request.auth.kind === 'bearer' ? request.auth.token : request.auth.jwt;
  return createHash('sha256')
    .update([request.endpoint, request.auth.kind, secret, request.appName ?? ''].join('\u0000'))
    .digest('hex');
}

/**
 * The {@link RefreshingCredentials} for this (endpoint, token, appName), created on first use and kept
 * in module scope so that a warm Lambda container reuses its credentials. `options` apply on creation.
 */
export function getRefreshingCredentials(
  request: TeaRequest,
  options: RefreshingCredentialsOptions = {},
): RefreshingCredentials {
  const key = instanceKey(request);
  let instance = instances.get(key);
  if (instance) {
    // Most recently used last, so that eviction drops the least recently used.
    instances.delete(key);
  } else {
    instance = new RefreshingCredentials(request, options);
    if (instances.size >= MAX_CACHED_INSTANCES) {
      const oldest = instances.keys().next().value;
      if (oldest !== undefined) instances.delete(oldest);
    }
  }
  instances.set(key, instance);
  return instance;
}

/** Forgets every cached instance. For tests. */
export function clearRefreshingCredentialsCache(): void {
  instances.clear();
}
