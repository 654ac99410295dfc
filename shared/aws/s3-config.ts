/**
 * S3 client configuration: the one place that reads the standard environment and sets retry and
 * timeout policies, so that the Lambdas and the one-machine runner build the same clients.
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { BuildMiddleware, HttpRequest, MiddlewareStack } from '@smithy/types';

/**
 * Region and endpoint from the standard SDK environment: `AWS_REGION` (or `AWS_DEFAULT_REGION`), and
 * `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`), which also turns on path-style addressing.
 */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  return { ...(region && { region }), ...(endpoint && { endpoint, forcePathStyle: true }) };
}

type Policy = Pick<
  S3ClientConfig,
  'maxAttempts' | 'retryMode' | 'requestHandler' | 'responseChecksumValidation'
>;

/**
 * Both sides of a copy. The SDK retries whole requests (throttling, 5xx, resets before the body): 8
 * attempts survive 20% SlowDown with a per-request failure chance of 0.2^8 = 3e-6. 'standard' rather
 * than 'adaptive': adaptive's client-side rate limiter halves throughput on every throttle, which at a
 * steady SlowDown rate costs more than the retries. A socket idle for 30 s fails, and the engine resumes
 * the body from where it stopped.
 */
export function copyClientConfig(): Policy {
  return {
    maxAttempts: 8,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 30_000 },
    // The engine checks every byte it reads itself (shared/copy/verify.ts), resumed ranges included;
    // the SDK's own validation would hash the first GET's bytes a second time.
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Plan's source listing: 1M keys take ~1000 requests, so each gets a few more attempts than the default 3. */
export function listingClientConfig(): Policy {
  return { maxAttempts: 5, retryMode: 'standard' };
}

/**
 * Every request of `client` names the account that must own the bucket (`x-amz-expected-bucket-owner`):
 * S3 refuses it with 403 when the bucket belongs to anyone else, say a bucket deleted and created again
 * by another account under the same name.
 */
export function expectBucketOwner(client: S3Client, accountId: string): void {
  const middleware: BuildMiddleware<object, object> = (next) => async (args) => {
    const headers = (args.request as HttpRequest).headers ?? {};
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'x-amz-expected-bucket-owner')) {
      headers['x-amz-expected-bucket-owner'] = accountId;
    }
    return next(args);
  };
  addBuildStep(client.middlewareStack, middleware, 's3DirectTransferExpectedBucketOwner');
}

/**
 * Adds a request-shaping middleware to a client's or a command's stack, in the build step (after the
 * SDK's checksum middleware, before signing). `low` runs after the others of that step.
 */
export function addBuildStep<I extends object, O extends object>(
  stack: MiddlewareStack<I, O>,
  middleware: BuildMiddleware<object, object>,
  name: string,
  priority: 'high' | 'normal' | 'low' = 'normal',
): void {
  stack.add(middleware as unknown as BuildMiddleware<I, O>, {
    name,
    step: 'build',
    priority,
    override: true,
  });
}
