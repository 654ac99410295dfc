/**
 * Multipart uploads: CreateMultipartUpload, UploadPart(Copy), CompleteMultipartUpload (validated as
 * S3 does, and idempotent for a retried or concurrent Complete), AbortMultipartUpload, ListParts,
 * ListMultipartUploads.
 */
import { MAX_PUT_SIZE, checksumExpectation, receive, receiveSmall } from '../bodies';
import {
  checksumElements,
  checksumHeaders,
  compositeChecksum,
  DEFAULT_CHECKSUM_ALGORITHM,
  headerForAlgorithm,
  isChecksumAlgorithm,
  type ChecksumAlgorithm,
  type ChecksumType,
  type StoredChecksum,
} from '../checksums';
import { checkCustomerKey, encryptionFromRequest, encryptionOf, etagForEncryption } from '../encryption';
import { S3Error } from '../errors';
import type { Gateway, Operation } from '../gateway';
import { checkKey, headerValue, type RequestContext } from '../request';
import { send, sendXml } from '../responses';
import { uriEncode } from '../sigv4';
import type { StagedBody, UploadInfo } from '../store';
import { entriesOf, requestDocument, textOf } from '../xml';
import { unquote, writeConditionCheck } from './conditions';
import { stageCopyPart } from './copy';
import { metadataFromHeaders } from './metadata';

/** What a CompleteMultipartUpload answers: the object's ETag, checksum and encryption. */
type Completed = { etag: string; checksum: StoredChecksum; encryption: Record<string, string> };

/** CompleteMultipartUpload in progress and done, per upload ID, so a retry gets the same answer. */
export class Completions {
  private readonly completing = new Map<string, Promise<Completed>>();
  private readonly completed = new Map<string, Completed & { bucket: string; key: string }>();

  /** The answer of an upload already completed as `bucket/key`. */
  doneAs(uploadId: string, bucket: string, key: string): Completed | undefined {
    const done = this.completed.get(uploadId);
    return done && done.bucket === bucket && done.key === key ? done : undefined;
  }

  /** Runs `complete` once per upload ID at a time; concurrent callers share its result. */
  run(uploadId: string, complete: () => Promise<Completed>): Promise<Completed> {
    let pending = this.completing.get(uploadId);
    if (!pending) {
      pending = complete();
      this.completing.set(uploadId, pending);
      pending.then(
        () => this.completing.delete(uploadId),
        () => this.completing.delete(uploadId),
      );
    }
    return pending;
  }

  remember(uploadId: string, bucket: string, key: string, completed: Completed): void {
    this.completed.set(uploadId, { bucket, key, ...completed });
    if (this.completed.size > 10_000) this.completed.delete(this.completed.keys().next().value as string);
  }
}

const OWNER = { ID: 'embedded-s3', DisplayName: 'embedded-s3' };

/** The checksum a CreateMultipartUpload asks for, with its type (S3's default type per algorithm). */
function uploadChecksum(
  ctx: RequestContext,
): { algorithm: ChecksumAlgorithm; type: ChecksumType } | undefined {
  const algorithm = headerValue(ctx.req, 'x-amz-checksum-algorithm')?.toUpperCase();
  const requestedType = headerValue(ctx.req, 'x-amz-checksum-type')?.toUpperCase();
  if (algorithm !== undefined && !isChecksumAlgorithm(algorithm)) {
    throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.');
  }
  if (requestedType !== undefined && requestedType !== 'FULL_OBJECT' && requestedType !== 'COMPOSITE') {
    throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  }
  if (algorithm === undefined) {
    if (requestedType === undefined) return undefined;
    throw new S3Error(
      'InvalidRequest',
      'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
    );
  }
  const type = requestedType ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
  // A full-object checksum is combined from CRCs; SHAs combine only as COMPOSITE, CRC64NVME only as FULL_OBJECT.
  const combinable = type === 'FULL_OBJECT' ? !algorithm.startsWith('SHA') : algorithm !== 'CRC64NVME';
  if (!combinable) {
    throw new S3Error(
      'InvalidRequest',
      `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  return { algorithm, type };
}

export async function createMultipartUpload(gw: Gateway, ctx: RequestContext): Promise<void> {
  checkKey(ctx);
  const metadata = metadataFromHeaders(ctx);
  const encryption = encryptionFromRequest(ctx, gw.kms);
  const checksum = uploadChecksum(ctx);
  const uploadId = await gw.store.uploads.createUpload(
    ctx.bucket as string,
    ctx.key as string,
    { ...metadata, ...encryption },
    checksum,
  );
  sendXml(
    ctx,
    'InitiateMultipartUploadResult',
    { Bucket: ctx.bucket as string, Key: ctx.key as string, UploadId: uploadId },
    {
      ...encryption,
      ...(checksum && {
        'x-amz-checksum-algorithm': checksum.algorithm,
        'x-amz-checksum-type': checksum.type,
      }),
    },
  );
}

function partNumber(ctx: RequestContext): number {
  const v = ctx.query.get('partNumber') ?? '';
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: v,
    });
  }
  return n;
}

/** UploadPart and UploadPartCopy. */
export async function uploadPart(gw: Gateway, ctx: RequestContext): Promise<void> {
  const copy = ctx.op === 'UploadPartCopy';
  const bucket = ctx.bucket as string;
  const uploadId = ctx.query.get('uploadId') ?? '';
  const number = partNumber(ctx);
  const upload = await gw.store.uploads.getUpload(bucket, uploadId, ctx.key);
  let staged: StagedBody;
  if (copy) {
    staged = await stageCopyPart(gw, ctx, upload.checksumAlgorithm);
  } else {
    checkCustomerKey(ctx, upload.metadata);
    if (upload.checksumAlgorithm) {
      const exp = checksumExpectation(ctx);
      if (exp.algorithm !== upload.checksumAlgorithm) {
        throw new S3Error(
          'InvalidRequest',
          `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${exp.algorithm?.toLowerCase() ?? 'null'}`,
        );
      }
    }
    staged = await receive(gw, ctx, { requireLength: true, maxBytes: MAX_PUT_SIZE });
  }
  const encryption = encryptionOf(upload.metadata);
  const etagValue = etagForEncryption(encryption, staged.md5Hex);
  await gw.store.uploads.commitPart(bucket, uploadId, number, staged, etagValue);
  const etag = JSON.stringify(etagValue);
  const checksum = staged.checksum;
  if (copy) {
    const element = checksum ? { [`Checksum${checksum.algorithm}`]: checksum.value } : {};
    sendXml(
      ctx,
      'CopyPartResult',
      { LastModified: new Date().toISOString(), ETag: etag, ...element },
      encryption,
    );
    return;
  }
  send(ctx, 200, {
    etag,
    ...encryption,
    ...(checksum && { [headerForAlgorithm(checksum.algorithm)]: checksum.value }),
  });
}

export async function completeMultipartUpload(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  const uploadId = ctx.query.get('uploadId') ?? '';
  const body = await receiveSmall(gw, ctx, { checksumHeadersNameObject: true });
  const location = `${gw.endpoint}/${uriEncode(bucket)}/${uriEncode(key, true)}`;
  const reply = (done: Completed) =>
    sendXml(
      ctx,
      'CompleteMultipartUploadResult',
      { Location: location, Bucket: bucket, Key: key, ETag: done.etag, ...checksumElements(done.checksum) },
      done.encryption,
    );
  const done = gw.completions.doneAs(uploadId, bucket, key);
  if (done !== undefined) return reply(done);
  reply(await gw.completions.run(uploadId, () => complete(gw, ctx, bucket, key, uploadId, body)));
}

interface RequestedPart {
  partNumber: number;
  etag: string;
  checksum?: string;
}

/** The parts a CompleteMultipartUpload document lists, in ascending order as S3 requires. */
function requestedParts(body: string, upload: UploadInfo): RequestedPart[] {
  const document = requestDocument(body, 'CompleteMultipartUpload');
  if (!document) throw new S3Error('MalformedXML');
  const requested = entriesOf(document, 'Part').map((p) => ({
    partNumber: Number(textOf(p, 'PartNumber')),
    etag: textOf(p, 'ETag') ?? '',
    checksum: upload.checksumAlgorithm ? textOf(p, `Checksum${upload.checksumAlgorithm}`) : undefined,
  }));
  if (requested.length === 0 || requested.some((p) => !Number.isInteger(p.partNumber))) {
    throw new S3Error('MalformedXML');
  }
  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) {
      throw new S3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        { UploadId: upload.uploadId },
      );
    }
  }
  return requested;
}

/**
 * Each listed part must exist with that ETag (and checksum); all but the last must be large enough.
 * Returns the parts' checksums, in order.
 */
async function checkParts(gw: Gateway, upload: UploadInfo, requested: RequestedPart[]): Promise<string[]> {
  const { bucket, uploadId, checksumAlgorithm } = upload;
  const stored = new Map((await gw.store.uploads.listParts(bucket, uploadId)).map((p) => [p.partNumber, p]));
  return requested.map((p, i) => {
    const s = stored.get(p.partNumber);
    if (!s || unquote(s.etag) !== unquote(p.etag)) {
      throw new S3Error(
        'InvalidPart',
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: p.partNumber, ETag: p.etag },
      );
    }
    if (checksumAlgorithm) {
      if (p.checksum === undefined) {
        throw new S3Error(
          'InvalidRequest',
          `The upload was created using a ${checksumAlgorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${p.partNumber} in the request.`,
        );
      }
      if (s.checksum !== undefined && p.checksum !== s.checksum) {
        throw new S3Error(
          'InvalidPart',
          `The ${checksumAlgorithm} checksum of part ${p.partNumber} does not match.`,
          {
            UploadId: uploadId,
            PartNumber: p.partNumber,
          },
        );
      }
    }
    if (i < requested.length - 1 && s.size < gw.minPartSize) {
      throw new S3Error(
        'EntityTooSmall',
        'Your proposed upload is smaller than the minimum allowed object size.',
        {
          ProposedSize: s.size,
          MinSizeAllowed: gw.minPartSize,
          PartNumber: p.partNumber,
          ETag: p.etag,
        },
      );
    }
    return s.checksum ?? p.checksum ?? '';
  });
}

/**
 * The checksum of a completed upload: COMPOSITE from the parts' checksums, else FULL_OBJECT over the
 * assembled bytes (S3's default CRC64NVME when the upload named no algorithm). A full-object checksum
 * the Complete request states must match.
 */
async function completedChecksum(
  ctx: RequestContext,
  upload: UploadInfo,
  partChecksums: string[],
  assembled: { checksum?: string },
): Promise<StoredChecksum> {
  const algorithm = upload.checksumAlgorithm ?? DEFAULT_CHECKSUM_ALGORITHM;
  if (upload.checksumType === 'COMPOSITE') {
    return { algorithm, value: await compositeChecksum(algorithm, partChecksums), type: 'COMPOSITE' };
  }
  const value = assembled.checksum as string;
  const stated = headerValue(ctx.req, headerForAlgorithm(algorithm));
  if (upload.checksumAlgorithm && stated !== undefined && stated !== value) {
    throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
  }
  return { algorithm, value, type: 'FULL_OBJECT' };
}

async function complete(
  gw: Gateway,
  ctx: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
  body: string,
): Promise<Completed> {
  const upload = await gw.store.uploads.getUpload(bucket, uploadId, key);
  const requested = requestedParts(body, upload);
  const partChecksums = await checkParts(gw, upload, requested);
  const fullObject = upload.checksumType !== 'COMPOSITE';
  const assembled = await gw.store.uploads.assembleParts(
    bucket,
    uploadId,
    requested.map((p) => p.partNumber),
    fullObject ? (upload.checksumAlgorithm ?? DEFAULT_CHECKSUM_ALGORITHM) : undefined,
  );
  let checksum: StoredChecksum;
  try {
    checksum = await completedChecksum(ctx, upload, partChecksums, assembled);
  } catch (err) {
    await gw.store.staging.discard(assembled);
    throw err;
  }
  const result = await gw.store.commitObject(
    bucket,
    key,
    assembled.tmpPath,
    assembled.etagValue,
    { ...upload.metadata, ...checksumHeaders(checksum) },
    writeConditionCheck(ctx),
  );
  await gw.store.uploads.removeUpload(bucket, uploadId);
  const completed = { etag: result.etag, checksum, encryption: encryptionOf(upload.metadata) };
  gw.completions.remember(uploadId, bucket, key, completed);
  return completed;
}

export async function abortMultipartUpload(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  const uploadId = ctx.query.get('uploadId') ?? '';
  await gw.store.uploads.getUpload(bucket, uploadId, ctx.key);
  await gw.store.uploads.removeUpload(bucket, uploadId);
  send(ctx, 204);
}

export async function listParts(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  const uploadId = ctx.query.get('uploadId') ?? '';
  const upload = await gw.store.uploads.getUpload(bucket, uploadId, ctx.key);
  const marker = Number(ctx.query.get('part-number-marker') ?? '0') || 0;
  const maxParts = Math.min(1000, Number(ctx.query.get('max-parts') ?? '1000') || 1000);
  const all = (await gw.store.uploads.listParts(bucket, uploadId)).filter((p) => p.partNumber > marker);
  const page = all.slice(0, maxParts);
  const alg = upload.checksumAlgorithm;
  sendXml(ctx, 'ListPartsResult', {
    Bucket: bucket,
    Key: upload.key,
    UploadId: uploadId,
    PartNumberMarker: String(marker),
    NextPartNumberMarker: page.length ? String(page[page.length - 1].partNumber) : undefined,
    MaxParts: String(maxParts),
    IsTruncated: String(all.length > page.length),
    ChecksumAlgorithm: alg,
    ChecksumType: alg ? upload.checksumType : undefined,
    StorageClass: 'STANDARD',
    Part: page.map((p) => ({
      PartNumber: String(p.partNumber),
      LastModified: p.lastModified.toISOString(),
      ETag: p.etag,
      Size: String(p.size),
      ...(p.checksum && alg ? { [`Checksum${alg}`]: p.checksum } : {}),
    })),
  });
}

export async function listMultipartUploads(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  const prefix = ctx.query.get('prefix') ?? '';
  const uploads = (await gw.store.uploads.listUploads(bucket)).filter((u) => u.key.startsWith(prefix));
  const page = uploads.slice(0, 1000);
  const last = page.length ? page[page.length - 1] : undefined;
  sendXml(ctx, 'ListMultipartUploadsResult', {
    Bucket: bucket,
    KeyMarker: ctx.query.get('key-marker') ?? '',
    UploadIdMarker: ctx.query.get('upload-id-marker') ?? '',
    NextKeyMarker: last?.key ?? '',
    NextUploadIdMarker: last?.uploadId ?? '',
    Prefix: prefix,
    MaxUploads: '1000',
    IsTruncated: String(uploads.length > page.length),
    Upload: page.map((u) => ({
      Key: u.key,
      UploadId: u.uploadId,
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: 'STANDARD',
      Initiated: u.initiated.toISOString(),
      ChecksumAlgorithm: u.checksumAlgorithm,
      ChecksumType: u.checksumType,
    })),
  });
}

export const operations: Record<string, Operation> = {
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  ListMultipartUploads: listMultipartUploads,
};
