/**
 * The embedded world for bench/pipeline.ts (S3 gateway + TEA emulator), in a process of its own so that
 * the server's CPU is never counted as a measured client's. Seeds `<count>` objects of `<size>` bytes
 * under `<prefix>` (plus one object under `<prefix-one>` for the fixed-cost run), prints one JSON line
 * (endpoints, keys, token) on stdout, then answers line commands on stdin, one JSON line each:
 *
 *   counters                      S3 request counters, TEA /s3credentials calls, this process's CPU ms
 *   reset                         zeroes the counters
 *   verify <bucket> <prefix> <n>  counts the objects under the prefix and compares the sha256 of n of
 *                                 them (spread over the key range) with the seeded source objects
 *   delete <bucket> <prefix>      deletes every object under the prefix
 *   profile-start / profile-stop <file>   a V8 CPU profile of this process in between
 *   latency <ms>                  delay every S3 request by ms (as a remote S3's round trips would)
 *   exit
 *
 *   node --openssl-legacy-provider .bench-out/pipeline/pipeline-server.js <prefix> <count> <size>
 *        [<large count> <large size>]   (objects under large-<prefix>, for the memory check)
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { EmbeddedWorld } from '../emulators/world';

export const SOURCE_BUCKET = 'bench-src';
export const DEST_BUCKET = 'bench-dst';

/** Deterministic bytes per object (xorshift seeded by the object's index). */
function body(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  return buf;
}

/** Relative key of object i: spread over 25 "day" folders, as granules are. */
export function relativeKey(i: number): string {
  return `day-${String(i % 25).padStart(2, '0')}/granule-${String(i).padStart(5, '0')}.nc`;
}

async function listAll(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) keys.push(o.Key!);
  }
  return keys;
}

async function sha256Of(client: S3Client, bucket: string, key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function main(): Promise<void> {
  const [prefix, countText, sizeText, largeCountText = '0', largeSizeText = '0'] = process.argv.slice(2);
  const count = Number(countText);
  const size = Number(sizeText);
  const world = await EmbeddedWorld.start({
    sourceBuckets: [SOURCE_BUCKET],
    destinationBuckets: [DEST_BUCKET],
    credentialLifetimeSeconds: 3600,
  });
  const expected = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const i = next++;
        const data = body(size, i + 1);
        expected.set(relativeKey(i), createHash('sha256').update(data).digest('hex'));
        await world.s3.seedObject(SOURCE_BUCKET, `${prefix}${relativeKey(i)}`, data);
      }
    }),
  );
  const oneData = body(size, 999_999);
  await world.s3.seedObject(SOURCE_BUCKET, `one-${prefix}${relativeKey(0)}`, oneData);
  // Large objects under large-<prefix> (memory check); 1 MiB blocks, each stamped with its index.
  const block = body(1024 * 1024, 424_242);
  for (let i = 0; i < Number(largeCountText); i++) {
    const size = Number(largeSizeText);
    const chunks = function* (): Generator<Buffer> {
      for (let offset = 0; offset < size; offset += block.length) {
        const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - offset)));
        chunk.writeDoubleLE(offset + i * 1e12, 0);
        yield chunk;
      }
    };
    await world.s3.seedObject(SOURCE_BUCKET, `large-${prefix}${relativeKey(i)}`, Readable.from(chunks()));
  }
  const admin = world.s3.client('admin');
  // Killed (the benchmark interrupted): remove the world's temporary directory on the way out.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void world.stop().finally(() => process.exit(1)));
  }
  process.stdout.write(
    `${JSON.stringify({
      endpoint: world.s3.endpoint,
      region: world.s3.region,
      credentialsEndpoint: world.credentialsEndpoint,
      token: world.token,
      destination: world.s3.destinationCredentials,
      processEnv: world.processEnv(),
    })}\n`,
  );

  const inspector = new Session();
  inspector.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) =>
      inspector.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/);
    try {
      if (command === 'counters') {
        const cpu = process.cpuUsage();
        process.stdout.write(
          `${JSON.stringify({
            requests: world.s3.counters.requests,
            errors: world.s3.counters.errors,
            teaCalls: world.tea.calls,
            credentialsIssued: world.s3.counters.credentialsIssued,
            cpuMs: (cpu.user + cpu.system) / 1000,
          })}\n`,
        );
      } else if (command === 'reset') {
        world.s3.resetCounters();
        world.tea.reset();
        process.stdout.write('{}\n');
      } else if (command === 'verify') {
        const [bucket, destPrefix, sampleText] = args;
        const keys = await listAll(admin, bucket, destPrefix);
        const relative = new Set(keys.map((k) => k.slice(destPrefix.length)));
        const missing = [...expected.keys()].filter((k) => !relative.has(k)).length;
        const sample = Number(sampleText);
        const all = [...expected.keys()].sort();
        const bad: string[] = [];
        for (let s = 0; s < sample; s++) {
          const key = all[Math.floor((s * all.length) / sample)];
          if (!relative.has(key)) continue;
          if ((await sha256Of(admin, bucket, destPrefix + key)) !== expected.get(key)) bad.push(key);
        }
        process.stdout.write(`${JSON.stringify({ count: keys.length, missing, sampled: sample, bad })}\n`);
      } else if (command === 'delete') {
        const [bucket, delPrefix] = args;
        const keys = await listAll(admin, bucket, delPrefix);
        for (let i = 0; i < keys.length; i += 1000) {
          await admin.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
            }),
          );
        }
        process.stdout.write(`${JSON.stringify({ deleted: keys.length })}\n`);
      } else if (command === 'latency') {
        world.s3.faults.latencyMs = Number(args[0]);
        process.stdout.write('{}\n');
      } else if (command === 'profile-start') {
        await post('Profiler.enable');
        await post('Profiler.start');
        process.stdout.write('{}\n');
      } else if (command === 'profile-stop') {
        const { profile } = (await post('Profiler.stop')) as { profile: object };
        writeFileSync(args[0], JSON.stringify(profile));
        process.stdout.write('{}\n');
      } else if (command === 'exit') {
        break;
      } else {
        process.stdout.write(`${JSON.stringify({ error: `unknown command ${command}` })}\n`);
      }
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
    }
  }
  admin.destroy();
  await world.stop();
  // stdin stays referenced after the readline loop: exit explicitly.
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
