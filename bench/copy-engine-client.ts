/**
 * The measured client of bench/copy-engine.ts (bundled with esbuild and run with plain `node`, under
 * `/usr/bin/time`, like the peers). One run per process; prints one JSON line.
 *
 * Modes: `object` (copyObject), `batch` (list a prefix, then copyBatch as the Lambda runs it),
 * `raw-get` / `raw-put` / `raw-copy` (the server's own limits: a GET into nothing, a multipart PUT of
 * precomputed parts, and both at once).
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { copyBatch } from '../functions/copy-batch/copy-batch';
import { copyClientConfig } from '../shared/aws/s3-config';
import { copyObject, type CopyOptions } from '../shared/copy';
import { stagedTokenKey } from '../shared/run-files';
import { ONE_MACHINE_POLICY } from '../shared/run-policy';

interface World {
  endpoint: string;
  region: string;
  destination: { accessKeyId: string; secretAccessKey: string };
  source: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

interface Job {
  mode: 'object' | 'batch' | 'raw-get' | 'raw-put' | 'raw-copy';
  world: World;
  key?: string;
  destKey?: string;
  prefix?: string;
  destPrefix?: string;
  size?: number;
  options?: CopyOptions;
  concurrency?: number;
}

const MiB = 1024 * 1024;

function client(
  world: World,
  credentials: S3ClientConfig['credentials'],
  extra: S3ClientConfig = {},
): S3Client {
  return new S3Client({
    endpoint: world.endpoint,
    region: world.region,
    forcePathStyle: true,
    credentials,
    ...copyClientConfig(),
    ...extra,
  });
}

async function rawGet(world: World, key: string): Promise<number> {
  const s3 = client(world, world.source, { responseChecksumValidation: 'WHEN_REQUIRED' });
  const out = await s3.send(new GetObjectCommand({ Bucket: 'bench-src', Key: key }));
  let bytes = 0;
  for await (const chunk of out.Body as Readable) bytes += (chunk as Buffer).length;
  return bytes;
}

/** A multipart upload of one precomputed part, repeated: the client hashes nothing. */
async function rawPut(
  world: World,
  key: string,
  size: number,
  partSize = 16 * MiB,
  queue = 4,
): Promise<number> {
  const s3 = client(world, world.destination);
  const part = Buffer.alloc(partSize, 0x5a);
  const sha = createHash('sha256').update(part).digest('hex');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(part) >>> 0);
  s3.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (request.body === part && request.headers) request.headers['x-amz-content-sha256'] = sha;
      return next(args);
    },
    { step: 'build', name: 'precomputedPayloadHash' },
  );
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: 'bench-dst', Key: key, ChecksumAlgorithm: 'CRC32' }),
  );
  const count = Math.ceil(size / partSize);
  const parts: { PartNumber: number; ETag?: string; ChecksumCRC32?: string }[] = [];
  let next = 1;
  await Promise.all(
    Array.from({ length: queue }, async () => {
      while (next <= count) {
        const n = next++;
        const out = await s3.send(
          new UploadPartCommand({
            Bucket: 'bench-dst',
            Key: key,
            UploadId,
            PartNumber: n,
            Body: part,
            ChecksumCRC32: crc.toString('base64'),
          }),
        );
        parts.push({ PartNumber: n, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32 });
      }
    }),
  );
  parts.sort((a, b) => a.PartNumber - b.PartNumber);
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'bench-dst',
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  return count * partSize;
}

async function run(job: Job): Promise<Record<string, unknown>> {
  const { world } = job;
  switch (job.mode) {
    case 'raw-get':
      return { bytes: await rawGet(world, job.key!) };
    case 'raw-put':
      return { bytes: await rawPut(world, job.destKey!, job.size!) };
    case 'raw-copy': {
      const [got] = await Promise.all([rawGet(world, job.key!), rawPut(world, job.destKey!, job.size!)]);
      return { bytes: got };
    }
    case 'object': {
      const result = await copyObject({
        sourceClient: client(world, world.source),
        destinationClient: client(world, world.destination),
        source: { bucket: 'bench-src', key: job.key! },
        destination: { bucket: 'bench-dst', key: job.destKey! },
        options: job.options,
      });
      return { bytes: result.bytes, verified: result.verified, stats: result.stats };
    }
    case 'batch': {
      const sourceClient = client(world, world.source);
      const items = [];
      const pages = paginateListObjectsV2(
        { client: sourceClient },
        { Bucket: 'bench-src', Prefix: job.prefix },
      );
      for await (const page of pages) {
        for (const o of page.Contents ?? []) {
          items.push({
            Key: o.Key!,
            DestKey: `${job.destPrefix}${o.Key!.slice(job.prefix!.length)}`,
            Size: o.Size,
            ETag: o.ETag,
          });
        }
      }
      const out = await copyBatch(
        {
          Items: items,
          BatchInput: {
            CredentialsEndpoint: 'http://127.0.0.1/unused',
            Token: {
              Kind: 'staged',
              Bucket: 'bench-staging',
              Key: stagedTokenKey('bench'),
              TokenKind: 'bearer',
            },
            SourceBucket: 'bench-src',
            DestBucket: 'bench-dst',
            Sync: false,
            RunId: 'bench',
          },
        },
        {
          source: async () => ({ client: sourceClient }),
          endpoints: ONE_MACHINE_POLICY.endpoints,
          tokens: { stagingBucket: 'bench-staging' },
          destination: client(world, world.destination),
          remainingTimeMs: () => 3_600_000,
          concurrency: job.concurrency,
          copyOptions: job.options,
        },
      );
      const failed = out.Results.filter((r) => r.Status !== 'COPIED');
      if (failed.length) throw new Error(`${failed.length} objects failed: ${JSON.stringify(failed[0])}`);
      return { bytes: out.Results.reduce((a, r) => a + r.Bytes, 0), objects: out.Results.length };
    }
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as Job;
  // Long-lived for the benchmark: the SDK would otherwise want a Date for `expiration`.
  const { accessKeyId, secretAccessKey, sessionToken } = job.world.source;
  job.world.source = { accessKeyId, secretAccessKey, sessionToken };
  const started = process.hrtime.bigint();
  const result = await run(job);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const usage = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({
      ...result,
      wallMs,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      maxRssMiB: usage.maxRSS / 1024,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
