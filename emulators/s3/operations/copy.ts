/** CopyObject, and the copy source that CopyObject and UploadPartCopy share. */
import { Readable } from 'node:stream';
import {
  checksumElements,
  checksumFromHeaders,
  checksumHeaders,
  DEFAULT_CHECKSUM_ALGORITHM,
  isChecksumAlgorithm,
  type ChecksumAlgorithm,
} from '../checksums';
import {
  checkCustomerKey,
  COPY_SOURCE_CUSTOMER_KEY_PREFIX,
  encryptionFromRequest,
  etagForEncryption,
} from '../encryption';
import { S3Error } from '../errors';
import type { Gateway, Operation } from '../gateway';
import { checkKey, copySource, headerValue, type RequestContext } from '../request';
import { sendXml } from '../responses';
import { BodyTap, type OpenedObject, type StagedBody } from '../store';
import { checkConditions } from './conditions';
import { copiedMetadata, metadataFromHeaders } from './metadata';

const MiB = 1024 * 1024;

/** Opens the copy source after checking its SSE-C key and its x-amz-copy-source-if-* preconditions. */
async function openCopySource(
  gw: Gateway,
  ctx: RequestContext,
): Promise<{ src: { bucket: string; key: string }; obj: OpenedObject }> {
  const src = copySource(ctx);
  if (!(await gw.store.bucketExists(src.bucket))) {
    throw new S3Error('NoSuchBucket', undefined, { BucketName: src.bucket });
  }
  const obj = await gw.store.openObject(src.bucket, src.key);
  if (!obj) throw new S3Error('NoSuchKey', undefined, { Key: src.key });
  try {
    checkCustomerKey(ctx, obj.metadata, COPY_SOURCE_CUSTOMER_KEY_PREFIX);
    const marker = checkConditions(ctx, obj.etag, obj.lastModified, {
      match: 'x-amz-copy-source-if-match',
      noneMatch: 'x-amz-copy-source-if-none-match',
      modified: 'x-amz-copy-source-if-modified-since',
      unmodified: 'x-amz-copy-source-if-unmodified-since',
    });
    if (marker)
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'x-amz-copy-source-If-None-Match' });
  } catch (err) {
    await obj.handle.close();
    throw err;
  }
  return { src, obj };
}

/** Stages bytes `start..end` of an opened object (closing it), with their `checksum` when given. */
async function stageFromHandle(
  gw: Gateway,
  obj: OpenedObject,
  start: number,
  end: number,
  checksum?: ChecksumAlgorithm,
): Promise<StagedBody> {
  const tap = new BodyTap({ checksum });
  const source = obj.handle.createReadStream({
    start,
    end: Math.max(start, end),
    highWaterMark: MiB,
    autoClose: true,
  });
  if (end < start) {
    // empty source: createReadStream cannot express an empty range
    source.destroy();
    return gw.store.staging.stage([Readable.from([])], tap);
  }
  return gw.store.staging.stage([source], tap);
}

export async function copyObject(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  checkKey(ctx);
  const directive = (headerValue(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      ArgumentName: 'x-amz-metadata-directive',
    });
  }
  const newMetadata = directive === 'REPLACE' ? metadataFromHeaders(ctx) : undefined;
  const encryption = encryptionFromRequest(ctx, gw.kms);
  const requestedChecksum = headerValue(ctx.req, 'x-amz-checksum-algorithm')?.toUpperCase();
  if (requestedChecksum !== undefined && !isChecksumAlgorithm(requestedChecksum)) {
    throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.');
  }
  const { src, obj } = await openCopySource(gw, ctx);
  if (
    src.bucket === bucket &&
    src.key === key &&
    directive === 'COPY' &&
    !ctx.req.headers['x-amz-storage-class'] &&
    Object.keys(encryption).length === 0
  ) {
    await obj.handle.close();
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const metadata = newMetadata ?? copiedMetadata(obj.metadata);
  // The copy's checksum is computed anew: the algorithm asked for, else the source's, else S3's default.
  const algorithm =
    requestedChecksum ?? checksumFromHeaders(obj.metadata)?.algorithm ?? DEFAULT_CHECKSUM_ALGORITHM;
  const staged = await stageFromHandle(gw, obj, 0, obj.size - 1, algorithm);
  const checksum = staged.checksum && { ...staged.checksum, type: 'FULL_OBJECT' as const };
  const result = await gw.store.commitObject(
    bucket,
    key,
    staged.tmpPath,
    etagForEncryption(encryption, staged.md5Hex),
    { ...metadata, ...encryption, ...checksumHeaders(checksum) },
  );
  sendXml(
    ctx,
    'CopyObjectResult',
    { LastModified: result.lastModified.toISOString(), ETag: result.etag, ...checksumElements(checksum) },
    encryption,
  );
}

/**
 * The bytes an UploadPartCopy copies (x-amz-copy-source-range, or the whole source), staged with the
 * upload's `checksum` algorithm.
 */
export async function stageCopyPart(
  gw: Gateway,
  ctx: RequestContext,
  checksum?: ChecksumAlgorithm,
): Promise<StagedBody> {
  const { obj } = await openCopySource(gw, ctx);
  let start = 0;
  let end = obj.size - 1;
  const r = headerValue(ctx.req, 'x-amz-copy-source-range');
  if (r !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(r.trim());
    if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= obj.size) {
      await obj.handle.close();
      throw new S3Error(
        'InvalidArgument',
        'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
        { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: r },
      );
    }
    start = Number(m[1]);
    end = Number(m[2]);
  }
  return stageFromHandle(gw, obj, start, end, checksum);
}

export const operations: Record<string, Operation> = { CopyObject: copyObject };
