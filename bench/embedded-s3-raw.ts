/**
 * Raw throughput of the embedded S3 gateway (not a test: prints numbers).
 *
 *   npx tsx bench/embedded-s3-raw.ts [sizeMiB=200]
 *
 * Measures, for one object of sizeMiB, through the gateway with real SDK clients in this process:
 *   - PUT: a streaming PutObject (SDK defaults: aws-chunked + CRC32 trailer, decoded and verified),
 *          and a lib-storage multipart Upload (16 MiB parts, 4 in flight);
 *   - GET: one GetObject, and 16 MiB ranged GETs 4 at a time;
 *   - a two-credential stream copy (issued credentials GET → destination credentials multipart PUT).
 * Peak RSS is sampled throughout (the gateway and the clients share this process and its 2 cores).
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { EmbeddedS3 } from '../emulators/s3/server';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 200);
const size = sizeMiB * MiB;

function source(): Readable {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, MiB);
      left -= n;
      this.push(n === MiB ? block : block.subarray(0, n));
    },
  });
}

async function drain(body: unknown): Promise<number> {
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) n += c.length;
  return n;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function timed(label: string, bytes: number, fn: () => Promise<unknown>): Promise<void> {
  const t0 = process.hrtime.bigint();
  await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${label.padEnd(44)} ${s.toFixed(2).padStart(6)} s  ${(bytes / MiB / s).toFixed(0).padStart(5)} MiB/s`,
  );
}

async function main(): Promise<void> {
  const s3 = await EmbeddedS3.start({ sourceBuckets: ['bench-src'], destinationBuckets: ['bench-dst'] });
  const admin = s3.client('admin');
  const dest = s3.client('destination');
  const reader = s3.client(s3.issue(3600, 'bench'));
  console.log(`embedded S3 raw throughput, ${sizeMiB} MiB object, node ${process.version}`);
  try {
    await timed('PUT  PutObject stream (aws-chunked+CRC32)', size, () =>
      admin.send(
        new PutObjectCommand({ Bucket: 'bench-src', Key: 'single', Body: source(), ContentLength: size }),
      ),
    );
    await timed('PUT  lib-storage Upload 16 MiB x4', size, () =>
      new Upload({
        client: admin,
        params: { Bucket: 'bench-src', Key: 'multi', Body: source() },
        partSize: 16 * MiB,
        queueSize: 4,
      }).done(),
    );
    await timed('GET  GetObject', size, async () => {
      const out = await reader.send(new GetObjectCommand({ Bucket: 'bench-src', Key: 'single' }));
      if ((await drain(out.Body)) !== size) throw new Error('short read');
    });
    await timed('GET  ranged 16 MiB x4', size, async () => {
      const ranges: [number, number][] = [];
      for (let o = 0; o < size; o += 16 * MiB) ranges.push([o, Math.min(size, o + 16 * MiB) - 1]);
      let next = 0;
      let total = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < ranges.length) {
            const [a, b] = ranges[next++];
            const out = await reader.send(
              new GetObjectCommand({ Bucket: 'bench-src', Key: 'multi', Range: `bytes=${a}-${b}` }),
            );
            const n = await drain(out.Body); // not `total += await …`: that reads total before awaiting
            total += n;
          }
        }),
      );
      if (total !== size) throw new Error('short read');
    });
    await timed('COPY GET(issued) -> Upload(destination) 16x4', size, async () => {
      const out = await reader.send(new GetObjectCommand({ Bucket: 'bench-src', Key: 'single' }));
      await new Upload({
        client: dest,
        params: { Bucket: 'bench-dst', Key: 'copy', Body: out.Body as Readable },
        partSize: 16 * MiB,
        queueSize: 4,
      }).done();
    });
    const head = await dest.send(new HeadObjectCommand({ Bucket: 'bench-dst', Key: 'copy' }));
    if (head.ContentLength !== size) throw new Error('copy size mismatch');
    console.log(
      `peak RSS ${(peakRss / MiB).toFixed(0)} MiB; counters: served ${(s3.counters.bytesServed / MiB).toFixed(0)} MiB, received ${(s3.counters.bytesReceived / MiB).toFixed(0)} MiB`,
    );
  } finally {
    clearInterval(sampler);
    await s3.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
