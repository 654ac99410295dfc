/**
 * The embedded S3 for bench/copy-engine.ts, in a process of its own so that the server's CPU is never
 * counted as the measured client's. Seeds the benchmark objects from a deterministic generator, prints
 * one JSON line (endpoint, keys) on stdout, then answers line commands on stdin:
 * `counters` (counters and this process's CPU), `reset`, `delete <bucket> <prefix>`, `exit`.
 *
 *   node .bench-out/copy-engine-server.js <directory> <key>=<bytes> <prefix{i}>=<bytes>x<count> ...
 */
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { DeleteObjectsCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../emulators/s3/server';

const MiB = 1024 * 1024;

/** 1 MiB blocks of xorshift bytes, each stamped with its index. */
function generated(size: number, seed: number): Readable {
  let x = seed >>> 0 || 1;
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  function* blocks(): Generator<Buffer> {
    for (let offset = 0, n = 0; offset < size; offset += MiB, n++) {
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - offset)));
      if (chunk.length >= 8) chunk.writeDoubleLE(n + seed * 1e6, 0);
      yield chunk;
    }
  }
  return Readable.from(blocks(), { objectMode: false });
}

async function main(): Promise<void> {
  const [directory, ...specs] = process.argv.slice(2);
  const s3 = await EmbeddedS3.start({
    sourceBuckets: ['bench-src'],
    destinationBuckets: ['bench-dst'],
    directory,
  });
  let seedValue = 1;
  // `key=bytes` or `prefix{i}=bytesxcount`
  for (const spec of specs) {
    const [key, value] = spec.split('=');
    const [bytes, count = '1'] = value.split('x');
    for (let i = 0; i < Number(count); i++) {
      const name = key.replace('{i}', String(i).padStart(4, '0'));
      await s3.seedObject('bench-src', name, generated(Number(bytes), seedValue++));
    }
  }
  const admin = s3.client('admin');
  const source = s3.issue(6 * 3600, 'bench');
  process.stdout.write(
    `${JSON.stringify({
      endpoint: s3.endpoint,
      region: s3.region,
      admin: s3.adminCredentials,
      destination: s3.destinationCredentials,
      source: { ...source, expiration: source.expiration.toISOString() },
    })}\n`,
  );
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command === 'counters') {
      const cpu = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ ...s3.counters, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
    } else if (command === 'reset') {
      s3.resetCounters();
      s3.resetFaults();
      process.stdout.write('{}\n');
    } else if (command === 'delete') {
      const [bucket, prefix = ''] = args;
      for await (const page of paginateListObjectsV2({ client: admin }, { Bucket: bucket, Prefix: prefix })) {
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length)
          await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      }
      process.stdout.write('{}\n');
    } else if (command === 'exit') {
      break;
    }
  }
  await s3.stop();
  // stdin and the SDK's keep-alive agents would keep the process alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
