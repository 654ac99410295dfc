/**
 * Floors for bench/pipeline.ts (`--floor`): the same copy without parts of the pipeline, in one child
 * process (bundled with esbuild, run with plain node under /usr/bin/time), to tell where the CLI's CPU goes.
 *
 *   raw     ListObjectsV2, then GetObject into a buffer and PutObject of it, `width` at once: the AWS SDK
 *           v3 floor of any Node.js copier (no verification, no metadata, no Step Functions)
 *   signed  the same copy with node:http and @smithy/signature-v4 only (no SDK middleware stack): what a
 *           small-object path that bypasses the SDK's per-request machinery would cost
 *   engine  ListObjectsV2, then the copy engine as CopyBatch runs it (copyBatch on batches of 20 items,
 *           `batches` batches at once, `perBatch` objects at once in each): the pipeline without the local
 *           Step Functions host, Plan's manifest, ResultWriter, Summarize and the CLI's startup
 *
 *   node .bench-out/pipeline/pipeline-floor.js '<job JSON>'
 */
import { createHash, createHmac, type BinaryLike } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  GetObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { copyBatch } from '../functions/copy-batch/copy-batch';
import { copyClientConfig } from '../shared/aws/s3-config';
import { stagedTokenKey } from '../shared/run-files';
import { ONE_MACHINE_POLICY } from '../shared/run-policy';

interface Job {
  mode: 'raw' | 'signed' | 'engine';
  endpoint: string;
  region: string;
  source: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  destination: { accessKeyId: string; secretAccessKey: string };
  sourceBucket: string;
  destBucket: string;
  prefix: string;
  destPrefix: string;
  width?: number;
  batches?: number;
  perBatch?: number;
}

function client(job: Job, credentials: S3ClientConfig['credentials']): S3Client {
  return new S3Client({
    endpoint: job.endpoint,
    region: job.region,
    forcePathStyle: true,
    credentials,
    ...copyClientConfig(),
  });
}

async function list(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ Key: string; Size: number; ETag: string }[]> {
  const out: { Key: string; Size: number; ETag: string }[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) out.push({ Key: o.Key!, Size: o.Size ?? 0, ETag: o.ETag ?? '' });
  }
  return out;
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** The hash constructor SignatureV4 wants, on node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const binary = (data: SourceData): BinaryLike =>
  data instanceof ArrayBuffer ? new Uint8Array(data) : (data as BinaryLike);

class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', binary(secret));
  }
  update(data: SourceData): void {
    this.hash.update(binary(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/** GET + PUT with node:http and SigV4 only. */
function signedCopier(job: Job): (key: string, destKey: string) => Promise<void> {
  const url = new URL(job.endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const signer = (credentials: Job['source'] | Job['destination']): SignatureV4 =>
    new SignatureV4({ credentials, region: job.region, service: 's3', sha256: Sha256, uriEscapePath: true });
  const sourceSigner = signer(job.source);
  const destinationSigner = signer(job.destination);
  const path = (bucket: string, key: string): string =>
    `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const send = async (
    signerFor: SignatureV4,
    method: string,
    requestPath: string,
    body?: Buffer,
  ): Promise<Buffer> => {
    const headers: Record<string, string> = {
      host: url.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    };
    if (body) headers['content-length'] = String(body.length);
    const signed = (await signerFor.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: requestPath,
      query: {},
      headers,
    } as never)) as unknown as { headers: Record<string, string> };
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { agent, host: url.hostname, port: url.port, method, path: requestPath, headers: signed.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            (res.statusCode ?? 0) < 300
              ? resolve(Buffer.concat(chunks))
              : reject(
                  new Error(
                    `${method} ${requestPath}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`,
                  ),
                ),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  return async (key, destKey) => {
    const data = await send(sourceSigner, 'GET', path(job.sourceBucket, key));
    await send(destinationSigner, 'PUT', path(job.destBucket, destKey), data);
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as Job;
  // Long-lived for the benchmark; the SDK would want a Date for `expiration`.
  const { accessKeyId, secretAccessKey, sessionToken } = job.source;
  job.source = { accessKeyId, secretAccessKey, sessionToken };
  const source = client(job, job.source);
  const destination = client(job, job.destination);
  const items = await list(source, job.sourceBucket, job.prefix);
  const destKey = (key: string): string => job.destPrefix + key.slice(job.prefix.length);
  let copied = 0;
  if (job.mode === 'signed') {
    const copy = signedCopier(job);
    await pool(items, job.width ?? 32, async (item) => {
      await copy(item.Key, destKey(item.Key));
      copied++;
    });
  } else if (job.mode === 'raw') {
    await pool(items, job.width ?? 32, async (item) => {
      const got = await source.send(new GetObjectCommand({ Bucket: job.sourceBucket, Key: item.Key }));
      const chunks: Buffer[] = [];
      for await (const chunk of got.Body as Readable) chunks.push(chunk as Buffer);
      await destination.send(
        new PutObjectCommand({ Bucket: job.destBucket, Key: destKey(item.Key), Body: Buffer.concat(chunks) }),
      );
      copied++;
    });
  } else {
    const batches: (typeof items)[] = [];
    for (let i = 0; i < items.length; i += 20) batches.push(items.slice(i, i + 20));
    await pool(batches, job.batches ?? 8, async (batch) => {
      const out = await copyBatch(
        {
          Items: batch.map((o) => ({ Key: o.Key, DestKey: destKey(o.Key), Size: o.Size, ETag: o.ETag })),
          BatchInput: {
            CredentialsEndpoint: 'http://127.0.0.1/unused',
            Token: {
              Kind: 'staged',
              Bucket: 'bench-staging',
              Key: stagedTokenKey('bench'),
              TokenKind: 'bearer',
            },
            SourceBucket: job.sourceBucket,
            DestBucket: job.destBucket,
            Sync: false,
            RunId: 'bench',
          },
        },
        {
          source: async () => ({ client: source }),
          endpoints: ONE_MACHINE_POLICY.endpoints,
          tokens: { stagingBucket: 'bench-staging' },
          destination,
          remainingTimeMs: () => Number.MAX_SAFE_INTEGER,
          concurrency: job.perBatch ?? 4,
        },
      );
      const failed = out.Results.filter((r) => r.Status !== 'COPIED');
      if (failed.length) throw new Error(`${failed.length} objects failed: ${JSON.stringify(failed[0])}`);
      copied += out.Results.length;
    });
  }
  process.stdout.write(`${JSON.stringify({ copied })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
