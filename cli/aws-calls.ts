import { setTimeout as delay } from 'node:timers/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { isThrottling } from '../shared/aws/sdk-errors';

/** Waits `ms`, or rejects as soon as `signal` is aborted. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

/**
 * The SDK retries throttling and transient errors itself; adaptive mode also slows its own request rate
 * after a throttle. The callers' polling adds a slower backoff on top (see {@link callWithBackoff}).
 */
const RETRY_CONFIG = { maxAttempts: 6, retryMode: 'adaptive' } as const;

/** A Step Functions client for the region of the ARN it will be used with. */
export function sfnClientFor(region: string): SFNClient {
  return new SFNClient({ region, ...RETRY_CONFIG });
}

/** A CloudFormation client for the standard region configuration (AWS_REGION, then the profile's). */
export function cloudFormationClient(
  env: NodeJS.ProcessEnv = process.env,
  inRegion?: string,
): CloudFormationClient {
  const region = inRegion || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  return new CloudFormationClient({ ...(region && { region }), ...RETRY_CONFIG });
}

export interface BackoffOptions {
  sleep: Sleep;
  signal?: AbortSignal;
  /** Which errors are asked again. @default isThrottling */
  retryable?: (error: unknown) => boolean;
  /** First wait, doubled after each refusal. @default 1000 */
  initialDelayMs?: number;
  /** Longest wait. @default 30000 */
  maxDelayMs?: number;
  /** Attempts in all, the first one included. @default 8 */
  maxAttempts?: number;
  /** Told before each wait. */
  onRetry?: (error: unknown, delayMs: number) => void;
}

/** Calls `fn` until it does not fail with a retryable error, waiting longer each time. */
export async function callWithBackoff<T>(fn: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const retryable = options.retryable ?? isThrottling;
  const maxAttempts = options.maxAttempts ?? 8;
  let wait = options.initialDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= maxAttempts || !retryable(error) || options.signal?.aborted) throw error;
      options.onRetry?.(error, wait);
      await options.sleep(wait, options.signal);
      wait = Math.min(wait * 2, options.maxDelayMs ?? 30_000);
    }
  }
}
