import type { BuildMiddleware, HttpRequest, MiddlewareStack } from '@smithy/types';

const NAME = 's3DirectTransferUnsignedPayload';

/**
 * For a request whose body is in memory and carries an `x-amz-checksum-*` header (lib-storage's parts
 * with `ChecksumAlgorithm`), signs the request with `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of
 * the body's SHA-256. S3 verifies the part against the checksum header and rejects a mismatch
 * (`BadDigest`), so integrity is kept, and the client saves a SHA-256 pass over every byte it uploads
 * (~1 s of CPU per GiB). SignatureV4 honours a preset `x-amz-content-sha256`; bodies without a
 * checksum header, and streamed bodies (which the SDK already sends with an unsigned trailer), are left
 * alone.
 */
export const unsignedPayloadMiddleware: BuildMiddleware<object, object> = (next) => async (args) => {
  const request = args.request as HttpRequest;
  const headers = request.headers ?? {};
  const names = Object.keys(headers).map((name) => name.toLowerCase());
  const inMemory = request.body instanceof Uint8Array || typeof request.body === 'string';
  if (
    inMemory &&
    names.some((name) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type') &&
    !names.includes('x-amz-content-sha256')
  ) {
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  }
  return next(args);
};

/** Adds {@link unsignedPayloadMiddleware} to a command's stack (after the SDK's checksum middleware). */
export function useUnsignedPayload<I extends object, O extends object>(stack: MiddlewareStack<I, O>): void {
  // 'build', low priority: after the SDK's flexibleChecksumsMiddleware (build, normal), which adds the
  // checksum header; long before the signer (finalizeRequest).
  stack.add(unsignedPayloadMiddleware as unknown as BuildMiddleware<I, O>, {
    name: NAME,
    step: 'build',
    priority: 'low',
    override: true,
  });
}
