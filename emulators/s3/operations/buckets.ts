/** Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, DeleteObjects. */
import { receiveSmall } from '../bodies';
import { CHECKSUM_ALGORITHMS, headerForAlgorithm } from '../checksums';
import { S3Error } from '../errors';
import type { Gateway, Operation } from '../gateway';
import type { RequestContext } from '../request';
import { send, sendXml } from '../responses';
import { entriesOf, requestDocument, textOf } from '../xml';

/** S3's rules for bucket names (no IP addresses, no `..`, 3 to 63 characters). */
export function validBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

export async function listBuckets(gw: Gateway, ctx: RequestContext): Promise<void> {
  const buckets = await gw.store.listBuckets();
  sendXml(ctx, 'ListAllMyBucketsResult', {
    Owner: { ID: 'embedded-s3', DisplayName: 'embedded-s3' },
    Buckets: {
      Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.creationDate.toISOString() })),
    },
  });
}

export async function createBucket(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  if (!validBucketName(bucket))
    throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
  if (await gw.store.bucketExists(bucket)) {
    throw new S3Error(
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      {
        BucketName: bucket,
      },
    );
  }
  await receiveSmall(gw, ctx);
  await gw.store.createBucket(bucket);
  send(ctx, 200, { location: `/${bucket}` });
}

export async function deleteBucket(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  if (!(await gw.store.bucketExists(bucket)))
    throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
  await gw.store.deleteBucket(bucket);
  send(ctx, 204);
}

export function headBucket(gw: Gateway, ctx: RequestContext): void {
  send(ctx, 200, { 'x-amz-bucket-region': gw.region });
}

/** us-east-1 is answered as an empty LocationConstraint, as S3 does. */
export function getBucketLocation(gw: Gateway, ctx: RequestContext): void {
  sendXml(ctx, 'LocationConstraint', gw.region === 'us-east-1' ? {} : { '#text': gw.region });
}

export async function deleteObjects(gw: Gateway, ctx: RequestContext): Promise<void> {
  const bucket = ctx.bucket as string;
  const hasDigest =
    ctx.req.headers['content-md5'] !== undefined ||
    CHECKSUM_ALGORITHMS.some((a) => ctx.req.headers[headerForAlgorithm(a)] !== undefined) ||
    ctx.req.headers['x-amz-trailer'] !== undefined;
  if (!hasDigest) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
  }
  const body = await receiveSmall(gw, ctx);
  const document = requestDocument(body, 'Delete');
  if (!document) throw new S3Error('MalformedXML');
  const quiet = textOf(document, 'Quiet') === 'true';
  const keys = entriesOf(document, 'Object').map((o) => textOf(o, 'Key'));
  if (keys.length === 0 || keys.length > 1000 || keys.some((k) => k === undefined))
    throw new S3Error('MalformedXML');
  const deleted: string[] = [];
  for (const key of keys as string[]) {
    await gw.store.deleteObject(bucket, key);
    deleted.push(key);
  }
  sendXml(ctx, 'DeleteResult', { Deleted: quiet ? [] : deleted.map((k) => ({ Key: k })) });
}

/** Operations on the service, or on a bucket that need not exist. */
export const serviceOperations: Record<string, Operation> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
};

export const operations: Record<string, Operation> = {
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  DeleteObjects: deleteObjects,
};
