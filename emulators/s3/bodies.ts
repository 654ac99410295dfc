/**
 * Request bodies: the payload mode x-amz-content-sha256 announces (plain, aws-chunked, signed
 * chunks, trailers), the declared length, the checksum to expect, and receiving a body into a
 * staging file with every check S3 makes (sha256, Content-MD5, x-amz-checksum-*).
 */
import { promises as fsp } from 'node:fs';
import type { Transform } from 'node:stream';
import { AwsChunkedDecoder } from './aws-chunked';
import {
  algorithmFromHeader,
  CHECKSUM_ALGORITHMS,
  headerForAlgorithm,
  isChecksumAlgorithm,
  type ChecksumAlgorithm,
} from './checksums';
import { S3Error } from './errors';
import type { Gateway } from './gateway';
import { headerValue, type RequestContext } from './request';
import { scopeOf } from './sigv4';
import { BodyTap, type StagedBody } from './store';

const MiB = 1024 * 1024;
export const MAX_PUT_SIZE = 5 * 1024 * MiB;

interface PayloadMode {
  chunked: boolean;
  signed: boolean;
  trailer: boolean;
  /** the body's sha256 when x-amz-content-sha256 gives one */
  sha256?: string;
}

export interface ChecksumExpectation {
  algorithm?: ChecksumAlgorithm;
  /** the value of an x-amz-checksum-* header */
  value?: string;
  /** the name of the trailer that will carry it */
  trailer?: string;
}

function payloadMode(ctx: RequestContext): PayloadMode {
  const hash = ctx.principal.auth?.payloadHash ?? 'UNSIGNED-PAYLOAD';
  switch (hash) {
    case 'UNSIGNED-PAYLOAD':
      return { chunked: false, signed: false, trailer: false };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { chunked: true, signed: false, trailer: true };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { chunked: true, signed: true, trailer: false };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { chunked: true, signed: true, trailer: true };
  }
  if (/^[0-9a-fA-F]{64}$/.test(hash))
    return { chunked: false, signed: false, trailer: false, sha256: hash.toLowerCase() };
  if (hash.startsWith('STREAMING-')) throw new S3Error('NotImplemented', `${hash} is not supported here.`);
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: hash },
  );
}

/** The decoded body length the client announced, or undefined. */
function declaredLength(ctx: RequestContext, chunked: boolean): number | undefined {
  const v = headerValue(ctx.req, chunked ? 'x-amz-decoded-content-length' : 'content-length');
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new S3Error('InvalidArgument', `Invalid length: ${v}`);
  return n;
}

/** Which checksum the body carries (header or trailer) and its announced value. */
export function checksumExpectation(ctx: RequestContext): ChecksumExpectation {
  const present = CHECKSUM_ALGORITHMS.filter((a) => ctx.req.headers[headerForAlgorithm(a)] !== undefined);
  if (present.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');
  if (present.length === 1) {
    return { algorithm: present[0], value: headerValue(ctx.req, headerForAlgorithm(present[0])) };
  }
  const trailer = headerValue(ctx.req, 'x-amz-trailer');
  if (trailer) {
    const alg = algorithmFromHeader(trailer);
    if (!alg)
      throw new S3Error('InvalidRequest', `The value specified in the x-amz-trailer header is not supported`);
    return { algorithm: alg, trailer: trailer.trim().toLowerCase() };
  }
  const sdkAlg = headerValue(ctx.req, 'x-amz-sdk-checksum-algorithm')?.toUpperCase();
  if (isChecksumAlgorithm(sdkAlg)) return { algorithm: sdkAlg };
  return {};
}

/** Tells a client that sent `Expect: 100-continue` to send its body (once). */
function continue100(ctx: RequestContext): void {
  if (ctx.expectContinue && !ctx.continued) {
    ctx.continued = true;
    ctx.res.writeContinue();
  }
}

/** The aws-chunked decoder for the body, verifying chunk signatures when the seed was signed. */
function chunkedDecoder(ctx: RequestContext, mode: PayloadMode, declared?: number): AwsChunkedDecoder {
  const p = ctx.principal;
  return new AwsChunkedDecoder({
    decodedLength: declared,
    signing:
      mode.signed && p.auth && p.signingKey
        ? {
            seedSignature: p.auth.signature,
            signingKey: p.signingKey,
            amzDate: p.auth.amzDate,
            scope: scopeOf(p.auth),
          }
        : undefined,
  });
}

export interface ReceiveOptions {
  /** Answer 411 without a length, as S3 does for PutObject/UploadPart. */
  requireLength: boolean;
  maxBytes?: number;
  /** The checksum to compute when the request names none (S3's default for objects). */
  defaultChecksum?: ChecksumAlgorithm;
  /** The x-amz-checksum-* headers state the object's checksum, not the body's (CompleteMultipartUpload). */
  checksumHeadersNameObject?: boolean;
}

/**
 * Receives the request body (decoding aws-chunked, verifying x-amz-content-sha256, Content-MD5 and
 * x-amz-checksum-*) into a staging file.
 */
export async function receive(
  gw: Gateway,
  ctx: RequestContext,
  options: ReceiveOptions,
): Promise<StagedBody> {
  const { requireLength, maxBytes = Infinity } = options;
  const mode = payloadMode(ctx);
  const declared = declaredLength(ctx, mode.chunked);
  if (declared === undefined && requireLength) throw new S3Error('MissingContentLength');
  if (declared !== undefined && declared > maxBytes) {
    throw new S3Error(
      maxBytes === MAX_PUT_SIZE ? 'EntityTooLarge' : 'MaxMessageLengthExceeded',
      undefined,
      {
        ProposedSize: declared,
        MaxSizeAllowed: maxBytes,
      },
      { status: 400 },
    );
  }
  const expectation = options.checksumHeadersNameObject ? {} : checksumExpectation(ctx);
  const decoder = mode.chunked ? chunkedDecoder(ctx, mode, declared) : undefined;
  const tap = new BodyTap({
    checksum: expectation.algorithm ?? options.defaultChecksum,
    sha256: mode.sha256 !== undefined,
    onBytes: (n) => (gw.counters.bytesReceived += n),
  });
  continue100(ctx);

  const req = ctx.req;
  const first: Transform = decoder ?? tap;
  const onClose = () => {
    if (!req.complete) {
      first.destroy(
        new S3Error('IncompleteBody', 'The client closed the connection before the body was complete.'),
      );
    }
  };
  req.once('close', onClose);
  req.once('aborted', onClose);
  req.pipe(first);
  let staged: StagedBody;
  try {
    staged = await gw.store.staging.stage(decoder ? [decoder] : [], tap);
  } finally {
    req.off('close', onClose);
    req.off('aborted', onClose);
  }

  try {
    checkDigests(ctx, mode, staged);
    if (expectation.algorithm && staged.checksum) checkChecksum(expectation, staged.checksum.value, decoder);
  } catch (err) {
    await gw.store.staging.discard(staged);
    throw err;
  }
  return staged;
}

/** x-amz-content-sha256 (when it is a hash) and Content-MD5 against what was received. */
function checkDigests(ctx: RequestContext, mode: PayloadMode, staged: StagedBody): void {
  if (mode.sha256 !== undefined && staged.sha256Hex !== mode.sha256) {
    throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
      ClientComputedContentSHA256: mode.sha256,
      S3ComputedContentSHA256: staged.sha256Hex ?? '',
    });
  }
  const md5Header = headerValue(ctx.req, 'content-md5');
  if (md5Header !== undefined) {
    const given = Buffer.from(md5Header, 'base64');
    if (given.length !== 16) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    if (given.toString('hex') !== staged.md5Hex) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        ExpectedDigest: md5Header,
        CalculatedDigest: Buffer.from(staged.md5Hex, 'hex').toString('base64'),
      });
    }
  }
}

/** The announced x-amz-checksum-* (header or trailer) against the computed one. */
function checkChecksum(
  expectation: ChecksumExpectation,
  computed: string,
  decoder?: AwsChunkedDecoder,
): void {
  const announced =
    expectation.value ?? (expectation.trailer ? decoder?.trailers.get(expectation.trailer) : undefined);
  if (expectation.trailer && announced === undefined) {
    throw new S3Error(
      'InvalidRequest',
      `The trailer ${expectation.trailer} announced in x-amz-trailer was not sent.`,
    );
  }
  if (announced !== undefined && announced !== computed) {
    throw new S3Error(
      'BadDigest',
      `The ${expectation.algorithm} you specified did not match the calculated checksum.`,
    );
  }
}

/** A small body (at most 4 MiB) as text: the XML documents of DeleteObjects, Complete, CreateBucket. */
export async function receiveSmall(
  gw: Gateway,
  ctx: RequestContext,
  options: Pick<ReceiveOptions, 'checksumHeadersNameObject'> = {},
): Promise<string> {
  const staged = await receive(gw, ctx, { requireLength: false, maxBytes: 4 * MiB, ...options });
  try {
    return await fsp.readFile(staged.tmpPath, 'utf8');
  } finally {
    await gw.store.staging.discard(staged);
  }
}
