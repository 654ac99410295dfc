import type { BuildMiddleware, HttpRequest, MiddlewareStack } from '@smithy/types';
import { addBuildStep } from '../aws/s3-config';

const NAME = 's3DirectTransferUnsignedPayload';

/**
 * When a part's SHA-256 is left out of the signature:
 * - `https` (the default): over TLS only. TLS already guarantees the bytes in transit and S3 checks
 *   the part's checksum header; over plain HTTP the signed SHA-256 is the only end-to-end check a
 *   store that ignores checksum headers (Ceph RGW before Reef, s3rver) makes.
 * - `always`: also over plain HTTP (a local store known to check checksum headers, benchmarks).
 * - `never`: every part's SHA-256 is signed.
 */
export type UnsignedPayloadMode = 'https' | 'always' | 'never';

/**
 * For a request whose body is in memory and carries an `x-amz-checksum-*` header (lib-storage's parts
 * with `ChecksumAlgorithm`), signs the request with `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of
 * the body's SHA-256. S3 verifies the part against the checksum header and rejects a mismatch
 * (`BadDigest`), so integrity is kept, and the client saves a SHA-256 pass over every byte it uploads
 * (~1 s of CPU per GiB). SignatureV4 honours a preset `x-amz-content-sha256`; bodies without a
 * checksum header, and streamed bodies (which the SDK already sends with an unsigned trailer), are left
 * alone, and so is any request over plain HTTP in `https` mode.
 */
export function unsignedPayloadMiddleware(mode: UnsignedPayloadMode): BuildMiddleware<object, object> {
  return (next) => async (args) => {
    const request = args.request as HttpRequest;
    const headers = request.headers ?? {};
    const names = Object.keys(headers).map((name) => name.toLowerCase());
    const inMemory = request.body instanceof Uint8Array || typeof request.body === 'string';
    const allowed = mode === 'always' || (mode === 'https' && request.protocol === 'https:');
    if (
      allowed &&
      inMemory &&
      names.some((name) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type') &&
      !names.includes('x-amz-content-sha256')
    ) {
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    }
    return next(args);
  };
}

/** Adds {@link unsignedPayloadMiddleware} to a command's stack (after the SDK's checksum middleware). */
export function useUnsignedPayload<I extends object, O extends object>(
  stack: MiddlewareStack<I, O>,
  mode: UnsignedPayloadMode = 'https',
): void {
  if (mode === 'never') return;
  // Low priority: after the SDK's flexibleChecksumsMiddleware (build, normal), which adds the checksum
  // header; long before the signer (finalizeRequest).
  addBuildStep(stack, unsignedPayloadMiddleware(mode), NAME, 'low');
}
