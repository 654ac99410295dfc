/** Deterministic sample data for the demo, the end-to-end tests and the benchmarks. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export interface SampleObject {
  key: string;
  size: number;
  sha256: string;
}

const MiB = 1024 * 1024;

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
export function sampleLayout(
  count: number,
  prefix = 'granules/',
  largeSize = 100 * MiB,
): { key: string; size: number }[] {
  const odd = [
    'données/température été.nc',
    'with space/granule 001.h5',
    'unicode/雪/観測.h5',
    'plus+percent%/a+b%20c.txt',
  ];
  const layout: { key: string; size: number }[] = [{ key: 'large/MUR-sst-100MiB.nc', size: largeSize }];
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
  return layout.slice(0, Math.max(count, 1)).map((o) => ({ ...o, key: prefix + o.key }));
}

export async function putSample(
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
export async function seedSample(
  client: S3Client,
  bucket: string,
  layout: { key: string; size: number }[],
): Promise<SampleObject[]> {
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
