/** A fake source bucket and destination bucket behind aws-sdk-client-mock, for the copy engine's unit tests. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CreateMultipartUploadCommandInput,
  type GetObjectCommandInput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

export const MiB = 1024 * 1024;

export function s3Error(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ123' },
    message,
  });
}

export function networkError(code = 'ECONNRESET', message = 'aborted'): Error {
  return Object.assign(new Error(message), { code });
}

/** Deterministic pseudo-random bytes. */
export function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

export interface FakeObject {
  data: Buffer;
  eTag: string;
  lastModified: Date;
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: Date;
  metadata?: Record<string, string>;
}

/** What happens to one GetObject request (faults are consumed in request order). */
export type SourceFault =
  | { kind: 'none' }
  /** The body fails with a connection reset after this many bytes. */
  | { kind: 'cut'; afterBytes: number; error?: Error }
  /** The body ends cleanly after this many bytes (a proxy closing early). */
  | { kind: 'end'; afterBytes: number }
  /** The request fails. */
  | { kind: 'reject'; error: Error }
  /** The object is replaced (new bytes, new ETag) before this request is answered. */
  | { kind: 'replace'; data: Buffer };

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FakeSource {
  readonly objects = new Map<string, FakeObject>();
  readonly requests: GetObjectCommandInput[] = [];
  readonly heads: string[] = [];
  faults: SourceFault[] = [];
  bytesServed = 0;
  readonly client = new S3Client({
    region: 'us-west-2',
    credentials: { accessKeyId: 'AKIDSOURCE', secretAccessKey: 's' },
  });
  readonly mock = mockClient(this.client);

  constructor() {
    this.mock.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => this.get(input));
    this.mock.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
      this.heads.push(input.Key);
      const object = this.objects.get(input.Key);
      if (!object) throw s3Error('NotFound', 404);
      return { ContentLength: object.data.length, ETag: `"${object.eTag}"`, Metadata: object.metadata };
    });
  }

  put(key: string, data: Buffer, extra: Partial<FakeObject> = {}): FakeObject {
    const object: FakeObject = {
      data,
      eTag: md5(data),
      lastModified: new Date('2024-05-06T07:08:09Z'),
      ...extra,
    };
    this.objects.set(key, object);
    return object;
  }

  private async get(input: GetObjectCommandInput): Promise<unknown> {
    this.requests.push(input);
    const fault = this.faults.shift() ?? { kind: 'none' };
    if (fault.kind === 'reject') throw fault.error;
    if (fault.kind === 'replace') this.put(input.Key!, fault.data);
    const object = this.objects.get(input.Key!);
    if (!object) throw s3Error('NoSuchKey', 404, 'The specified key does not exist.');
    if (input.IfMatch !== undefined && input.IfMatch.replace(/"/g, '') !== object.eTag) {
      throw s3Error(
        'PreconditionFailed',
        412,
        'At least one of the pre-conditions you specified did not hold',
      );
    }
    const size = object.data.length;
    let start = 0;
    let end = size - 1;
    let ranged = false;
    if (input.Range) {
      const match = /^bytes=(\d+)-(\d*)$/.exec(input.Range)!;
      start = Number(match[1]);
      end = match[2] === '' ? size - 1 : Math.min(size - 1, Number(match[2]));
      if (start >= size) throw s3Error('InvalidRange', 416, 'The requested range is not satisfiable');
      ranged = true;
    }
    const slice = object.data.subarray(start, end + 1);
    return {
      Body: this.body(slice, fault),
      ContentLength: slice.length,
      ContentRange: ranged ? `bytes ${start}-${end}/${size}` : undefined,
      ETag: `"${object.eTag}"`,
      LastModified: object.lastModified,
      ContentType: object.contentType,
      ContentEncoding: object.contentEncoding,
      ContentDisposition: object.contentDisposition,
      ContentLanguage: object.contentLanguage,
      CacheControl: object.cacheControl,
      Expires: object.expires,
      Metadata: object.metadata ?? {},
    };
  }

  private body(data: Buffer, fault: SourceFault): Readable {
    const limit =
      fault.kind === 'cut' || fault.kind === 'end' ? Math.min(fault.afterBytes, data.length) : data.length;
    const served = (n: number): void => {
      this.bytesServed += n;
    };
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < limit; offset += 64 * 1024) {
        const chunk = data.subarray(offset, Math.min(limit, offset + 64 * 1024));
        served(chunk.length);
        yield chunk;
      }
      if (fault.kind === 'cut') {
        // Let the consumer take what was sent before the connection drops.
        await tick();
        await tick();
        throw fault.error ?? networkError();
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
  }
}

interface StoredObject {
  data: Buffer;
  input: PutObjectCommandInput | CreateMultipartUploadCommandInput;
}

export class FakeDestination {
  readonly objects = new Map<string, StoredObject>();
  readonly uploads = new Map<
    string,
    { key: string; input: CreateMultipartUploadCommandInput; parts: Map<number, Buffer> }
  >();
  readonly aborted: string[] = [];
  /** Answered to PutObject / CreateMultipartUpload / UploadPart when set. */
  writeError?: Error;
  /** UploadPart for this part number fails with `writeError`. */
  failPart?: number;
  abortError?: Error;
  private nextId = 1;
  readonly client = new S3Client({
    region: 'us-west-2',
    credentials: { accessKeyId: 'AKIDDEST', secretAccessKey: 'd' },
  });
  readonly mock = mockClient(this.client);

  constructor() {
    const key = (input: { Bucket?: string; Key?: string }): string => `${input.Bucket}/${input.Key}`;
    this.mock.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
      if (this.writeError) throw this.writeError;
      const data = Buffer.from(input.Body as Uint8Array);
      this.objects.set(key(input), { data, input });
      return { ETag: `"${md5(data)}"`, ChecksumCRC32: 'AAAAAA==' };
    });
    this.mock.on(CreateMultipartUploadCommand).callsFake((input: CreateMultipartUploadCommandInput) => {
      if (this.writeError && this.failPart === undefined) throw this.writeError;
      const id = `upload-${this.nextId++}`;
      this.uploads.set(id, { key: key(input), input, parts: new Map() });
      return { UploadId: id, Bucket: input.Bucket, Key: input.Key };
    });
    this.mock
      .on(UploadPartCommand)
      .callsFake((input: { UploadId: string; PartNumber: number; Body: Uint8Array }) => {
        if (this.writeError && (this.failPart === undefined || this.failPart === input.PartNumber))
          throw this.writeError;
        const upload = this.uploads.get(input.UploadId);
        if (!upload) throw s3Error('NoSuchUpload', 404);
        const data = Buffer.from(input.Body);
        upload.parts.set(input.PartNumber, data);
        return { ETag: `"${md5(data)}"`, ChecksumCRC32: 'BBBBBB==' };
      });
    this.mock
      .on(CompleteMultipartUploadCommand)
      .callsFake((input: { UploadId: string; MultipartUpload: { Parts: { PartNumber: number }[] } }) => {
        const upload = this.uploads.get(input.UploadId);
        if (!upload) throw s3Error('NoSuchUpload', 404);
        const data = Buffer.concat(input.MultipartUpload.Parts.map((p) => upload.parts.get(p.PartNumber)!));
        this.objects.set(upload.key, { data, input: upload.input });
        this.uploads.delete(input.UploadId);
        return {
          ETag: `"${md5(data)}-${input.MultipartUpload.Parts.length}"`,
          ChecksumCRC32: `CCCCCC==-${input.MultipartUpload.Parts.length}`,
        };
      });
    this.mock.on(AbortMultipartUploadCommand).callsFake((input: { UploadId: string }) => {
      this.aborted.push(input.UploadId);
      if (this.abortError) throw this.abortError;
      this.uploads.delete(input.UploadId);
      return {};
    });
    this.mock.on(HeadObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      const object = this.objects.get(key(input));
      if (!object) throw s3Error('NotFound', 404);
      return {
        ContentLength: object.data.length,
        ETag: `"${md5(object.data)}"`,
        Metadata: object.input.Metadata,
      };
    });
  }
}

/** A credentials handle like RefreshingCredentials, with a counter of invalidations. */
export function fakeCredentials(expiresAt?: number): {
  invalidate: jest.Mock;
  expiresAt?: number;
  generation: number;
} {
  return { invalidate: jest.fn(), expiresAt, generation: 1 };
}

/** Instant backoff, recorded. */
export function instantSleep(): jest.Mock<Promise<void>, [number, AbortSignal?]> {
  return jest.fn(async (_ms: number, _signal?: AbortSignal) => undefined);
}
