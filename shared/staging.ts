import { constants, createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { classifyS3Error } from './aws/sdk-errors';

/** How an object is written. */
export interface PutOptions {
  contentType?: string;
  /**
   * Fail with {@link AlreadyExistsError} instead of replacing an object that exists (S3 `If-None-Match: *`,
   * a file opened with O_EXCL): a run never overwrites another run's files.
   */
  exclusive?: boolean;
  /** Encrypt with this KMS key (SSE-KMS) instead of the bucket's default; ignored by a folder. */
  kmsKeyId?: string;
}

/** An exclusive write met an object that exists. */
export class AlreadyExistsError extends Error {
  constructor(readonly key: string) {
    super(`${key} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

/**
 * Where the pipeline keeps its working files (manifest, staged token, map results, report):
 * the staging bucket in AWS, a bucket on the embedded S3 or a folder on one machine.
 */
export interface StagingStore {
  /** The bucket name that references ({ Bucket, Key }) to this store carry. */
  readonly bucket: string;
  /** Writes an object; a stream body is streamed, never buffered whole. */
  put(key: string, body: string | Buffer | Readable, options?: PutOptions): Promise<void>;
  /** Reads an object as text; undefined when it does not exist. */
  getText(key: string): Promise<string | undefined>;
  /** Reads an object as a stream. */
  getStream(key: string): Promise<Readable>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export class S3StagingStore implements StagingStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: string | Buffer | Readable, options: PutOptions = {}): Promise<void> {
    try {
      await new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          // lib-storage sends these with PutObject, or with CompleteMultipartUpload for a large body.
          ...(options.exclusive && { IfNoneMatch: '*' }),
          ...(options.kmsKeyId && { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyId }),
        },
        partSize: 8 * 1024 * 1024,
        queueSize: 2,
      }).done();
    } catch (error) {
      if (options.exclusive && classifyS3Error(error) === 'precondition') throw new AlreadyExistsError(key);
      throw error;
    }
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body!.transformToString('utf8');
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async getStream(key: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return out.Body as Readable;
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

/** A folder standing in for the staging bucket on one machine. Keys map to relative paths. */
export class FolderStagingStore implements StagingStore {
  constructor(
    readonly root: string,
    readonly bucket = 'local-staging',
  ) {}

  private path(key: string): string {
    const full = join(this.root, ...key.split('/'));
    if (relative(this.root, full).startsWith('..')) throw new Error(`staging key escapes the folder: ${key}`);
    return full;
  }

  async put(key: string, body: string | Buffer | Readable, options: PutOptions = {}): Promise<void> {
    const file = this.path(key);
    // Owner-only folders and files, whatever the umask: staged tokens and reports live here.
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await this.refuseLinks(dirname(file));
    const flags = options.exclusive
      ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
      : constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
    let handle;
    try {
      handle = await open(file, flags, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(key);
      throw error;
    }
    const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([body]) : body;
    await pipeline(source, handle.createWriteStream());
  }

  /** Symbolic links between the root and `dir` could send a staged token anywhere: refuse them. */
  private async refuseLinks(dir: string): Promise<void> {
    for (let current = dir; ; current = dirname(current)) {
      if ((await lstat(current)).isSymbolicLink()) {
        throw new Error(`staging folder ${current} is a symbolic link; refusing to write through it`);
      }
      if (current === this.root || dirname(current) === current) return;
    }
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async getStream(key: string): Promise<Readable> {
    await stat(this.path(key));
    return createReadStream(this.path(key));
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else out.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    await walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
