import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { TransferResult } from '../shared/batch';
import { S3StagingStore } from '../shared/staging';
import { executionError, exitCodeFor, runPipelineLocally } from '../local/pipeline';
import { EmbeddedWorld } from '../local/world';
import { formatBytes, ProgressReporter } from './progress';

export interface DemoOptions {
  keep?: boolean;
  objects: number;
  credentialLifetime: number;
  quiet?: boolean;
}

export interface SampleObject {
  key: string;
  size: number;
  sha256: string;
}

const MiB = 1024 * 1024;
const SOURCE_PREFIX = 'granules/';

/** Deterministic bytes: a cheap xorshift stream, so the sample needs no big buffer and no randomness. */
export function sampleStream(size: number, seed: number): Readable {
  let state = (seed * 2654435761) >>> 0 || 1;
  let remaining = size;
  return new Readable({
    read() {
      if (remaining === 0) return void this.push(null);
      const n = Math.min(remaining, 1 * MiB);
      const buf = Buffer.allocUnsafe(n);
      for (let i = 0; i + 4 <= n; i += 4) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        buf.writeUInt32LE(state >>> 0, i);
      }
      for (let i = n - (n % 4); i < n; i++) buf[i] = i & 0xff;
      remaining -= n;
      this.push(buf);
    },
  });
}

/** The sample's keys and sizes: mostly small granule sidecars, some mid-size files, one large one. */
export function sampleLayout(count: number): { key: string; size: number }[] {
  const odd = [
    'données/température été.nc',
    'with space/granule 001.h5',
    'unicode/雪/観測.h5',
    'plus+percent%/a+b%20c.txt',
  ];
  const layout: { key: string; size: number }[] = [{ key: 'large/MUR-sst-100MiB.nc', size: 100 * MiB }];
  layout.push({ key: 'empty/zero-byte.txt', size: 0 });
  odd.forEach((key, i) => layout.push({ key, size: 1000 + i * 777 }));
  for (let i = 0; layout.length < count; i++) {
    const size =
      i % 50 === 0 ? 6 * MiB + i * 1024 : i % 10 === 0 ? 256 * 1024 + i : 2048 + ((i * 7919) % 60000);
    layout.push({
      key: `day-${String(i % 30).padStart(2, '0')}/granule-${String(i).padStart(4, '0')}.h5`,
      size,
    });
  }
  return layout.slice(0, Math.max(count, 1)).map((o) => ({ ...o, key: SOURCE_PREFIX + o.key }));
}

async function putSample(
  client: S3Client,
  bucket: string,
  key: string,
  size: number,
  seed: number,
): Promise<string> {
  const hash = createHash('sha256');
  const body = sampleStream(size, seed);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  if (size <= 8 * MiB) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat(chunks) }));
  } else {
    await new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body },
      partSize: 16 * MiB,
      queueSize: 4,
    }).done();
  }
  return hash.digest('hex');
}

/** Seeds the source bucket; returns each object's sha256. */
export async function seedSample(client: S3Client, bucket: string, count: number): Promise<SampleObject[]> {
  const layout = sampleLayout(count);
  const out: SampleObject[] = new Array(layout.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < layout.length) {
      const i = next++;
      const { key, size } = layout[i];
      out[i] = { key, size, sha256: await putSample(client, bucket, key, size, i + 1) };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/** Reads every copy back and compares its sha256 with the source's. Returns the keys that differ. */
export async function verifyCopies(
  client: S3Client,
  bucket: string,
  objects: SampleObject[],
  destKey: (sourceKey: string) => string,
): Promise<string[]> {
  const bad: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++];
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: destKey(o.key) }));
        const hash = createHash('sha256');
        for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
        if (hash.digest('hex') !== o.sha256) bad.push(o.key);
      } catch {
        bad.push(o.key);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return bad;
}

export async function demoCommand(options: DemoOptions): Promise<number> {
  const log = (line: string): boolean => process.stderr.write(`${line}\n`);
  const sourceBucket = 'earthdata-demo-protected';
  const destBucket = 'my-mirror-bucket';
  const stagingBucket = 'my-transfer-staging';
  const world = await EmbeddedWorld.start({
    sourceBuckets: [sourceBucket],
    destinationBuckets: [destBucket, stagingBucket],
    credentialLifetimeSeconds: options.credentialLifetime,
    s3Port: options.keep ? 4566 : undefined,
    teaPort: options.keep ? 4567 : undefined,
  });
  const admin = world.s3.client('admin');
  const destinationClient = world.s3.client('destination');
  try {
    log(`embedded S3 at ${world.s3.endpoint}, TEA credentials endpoint at ${world.credentialsEndpoint}`);
    log(`credentials live ${options.credentialLifetime} s, so the copy must refresh them as it goes`);
    const seedStarted = Date.now();
    const objects = await seedSample(admin, sourceBucket, options.objects);
    const seededBytes = objects.reduce((n, o) => n + o.size, 0);
    log(
      `seeded s3://${sourceBucket}/${SOURCE_PREFIX}: ${objects.length} objects, ${formatBytes(seededBytes)} in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
    );

    const event = {
      CredentialsEndpoint: world.credentialsEndpoint,
      BearerToken: world.token,
      AppName: 's3-direct-transfer-demo',
      Source: { Bucket: sourceBucket, Prefix: SOURCE_PREFIX },
      Dest: { Bucket: destBucket, Prefix: 'mirror/' },
    };
    world.tea.reset();
    world.s3.resetCounters();
    const progress = options.quiet ? undefined : new ProgressReporter({ intervalSeconds: 2 });
    const started = Date.now();
    const outcome = await runPipelineLocally(event, {
      s3Config: { region: world.s3.region, endpoint: world.s3.endpoint, forcePathStyle: true },
      destinationCredentials: world.s3.destinationCredentials,
      staging: new S3StagingStore(destinationClient, stagingBucket),
      onPlanned: (plan) => progress?.start(plan.Count, plan.Bytes),
      onProgress: (p) => progress?.update(p),
    });
    progress?.stop();
    const seconds = (Date.now() - started) / 1000;
    if (outcome.execution.Status !== 'SUCCEEDED') {
      const error = executionError(outcome.execution);
      log(`the pipeline failed: ${error.name}: ${error.message}`);
      return 1;
    }
    const result = outcome.result as TransferResult;
    const bad = await verifyCopies(
      admin,
      destBucket,
      objects,
      (k) => `mirror/${k.slice(SOURCE_PREFIX.length)}`,
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const mbps = result.Bytes / MiB / seconds;
    log('');
    log(`What happened:`);
    log(
      `  Plan listed s3://${sourceBucket}/${SOURCE_PREFIX} with TEA credentials and wrote a manifest of ${objects.length} objects;`,
    );
    log(`  the Distributed Map copied them in batches, streaming each GetObject into a multipart upload`);
    log(
      `  made with the destination's own keys, and Summarize wrote the report to s3://${stagingBucket}/${result.Report?.Key ?? '?'}.`,
    );
    log(
      `  Copied ${result.Copied}, skipped ${result.Skipped}, failed ${result.Failed}: ${formatBytes(result.Bytes)} in ${seconds.toFixed(1)} s (${mbps.toFixed(1)} MB/s).`,
    );
    log(
      `  The credentials endpoint was called ${world.tea.calls} times (credentials lived ${options.credentialLifetime} s; a call per object would have been ${objects.length}).`,
    );
    log(
      `  Expired-token answers from S3: ${world.s3.counters.errors.ExpiredToken ?? 0} (each one refreshed and retried).`,
    );
    log(
      bad.length === 0
        ? `  Verified: all ${objects.length} destination objects match their source byte for byte (sha256).`
        : `  VERIFICATION FAILED for ${bad.length} objects: ${bad.slice(0, 5).join(', ')}`,
    );
    if (options.keep) {
      printKeep(world, event, destBucket);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    if (bad.length > 0) return 1;
    return exitCodeFor(outcome.execution, result);
  } finally {
    admin.destroy();
    destinationClient.destroy();
    await world.stop();
  }
}

function printKeep(world: EmbeddedWorld, event: object, destBucket: string): void {
  const d = world.s3.destinationCredentials;
  const lines = [
    '',
    'The embedded world keeps running (Ctrl-C to stop). Try it:',
    `  S3 endpoint:           ${world.s3.endpoint}  (region ${world.s3.region})`,
    `  credentials endpoint:  ${world.credentialsEndpoint}`,
    `  Earthdata token:       ${world.token}`,
    `  destination keys:      AWS_ACCESS_KEY_ID=${d.accessKeyId} AWS_SECRET_ACCESS_KEY=${d.secretAccessKey}`,
    '',
    '  export AWS_REGION=' + world.s3.region + ' AWS_ENDPOINT_URL_S3=' + world.s3.endpoint,
    `  export AWS_ACCESS_KEY_ID=${d.accessKeyId} AWS_SECRET_ACCESS_KEY=${d.secretAccessKey}`,
    `  aws s3 ls s3://${destBucket}/mirror/ --recursive | head`,
    `  curl -s -H "Authorization: Bearer ${world.token}" ${world.credentialsEndpoint}`,
    '  npx s3-direct-transfer run --event event.json   # with an event such as:',
    `  ${JSON.stringify({ ...event, Options: { Sync: true } })}`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}
