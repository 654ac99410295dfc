/**
 * CPU per GiB the embedded S3 spends on an upload, by checksum: what a PUT costs it with the SDK's
 * default CRC32, and without any checksum (S3's default CRC64NVME is then computed). Also the bare
 * checksum algorithms of shared/checksums.ts. On demand:
 *
 *   npx tsx bench/emulator-checksums.ts [MiB per object, default 64] [objects, default 8] [emulator dir]
 *
 * `emulator dir` (default emulators/s3) lets an older copy of the emulator be measured the same way.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { checksumOf, createChecksum, type ChecksumAlgorithm } from '../shared/checksums';
import { Sha256 } from '../test/helpers/embedded-s3';
import type { EmbeddedS3 } from '../emulators/s3/server';

const MiB = 1024 * 1024;
const [mibArg, countArg, dirArg] = process.argv.slice(2);
const objectMiB = Number(mibArg ?? 64);
const objects = Number(countArg ?? 8);
const gib = (objectMiB * objects) / 1024;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

async function algorithms(data: Buffer): Promise<void> {
  const md5 = process.cpuUsage();
  for (let i = 0; i < objects; i++) createHash('md5').update(data).digest();
  console.log(`  md5 (node:crypto, every upload)  ${(cpuSeconds(md5) / gib).toFixed(2)} CPU s/GiB`);
  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA256'] as ChecksumAlgorithm[]) {
    const started = process.cpuUsage();
    for (let i = 0; i < objects; i++) {
      const running = createChecksum(algorithm);
      for (let at = 0; at < data.length; at += MiB) running.update(data.subarray(at, at + MiB));
      await running.digest();
    }
    console.log(`  ${algorithm.padEnd(32)} ${(cpuSeconds(started) / gib).toFixed(2)} CPU s/GiB`);
  }
}

/** PUTs `data` `objects` times over HTTP, UNSIGNED-PAYLOAD, with `headers`; returns process CPU s/GiB. */
async function puts(s3: EmbeddedS3, data: Buffer, headers: Record<string, string>): Promise<number> {
  const url = new URL(s3.endpoint);
  const signer = new SignatureV4({
    credentials: s3.adminCredentials,
    region: s3.region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
  const started = process.cpuUsage();
  for (let i = 0; i < objects; i++) {
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: `/bench/object-${i}`,
      query: {},
      headers: {
        host: url.host,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'content-length': String(data.length),
        ...headers,
      },
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method: 'PUT', path: signed.path, headers: signed.headers },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }
  return cpuSeconds(started) / gib;
}

async function main(): Promise<void> {
  const data = Buffer.alloc(objectMiB * MiB);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  console.log(`checksum algorithms (${gib.toFixed(2)} GiB each):`);
  await algorithms(data);

  const dir = path.resolve(dirArg ?? path.join(__dirname, '../emulators/s3'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EmbeddedS3: Server } = require(path.join(dir, 'server')) as typeof import('../emulators/s3/server');
  const s3 = await Server.start({ sourceBuckets: [], destinationBuckets: ['bench'] });
  try {
    const crc32 = await checksumOf('CRC32', data);
    await puts(s3, data.subarray(0, MiB), {}); // warm-up
    console.log(
      `emulator ${path.relative(process.cwd(), dir)}: PUT ${objects} x ${objectMiB} MiB, client and server in one process:`,
    );
    const withCrc = await puts(s3, data, { 'x-amz-checksum-crc32': crc32 });
    console.log(`  with x-amz-checksum-crc32        ${withCrc.toFixed(2)} CPU s/GiB`);
    const without = await puts(s3, data, {});
    console.log(`  without a checksum               ${without.toFixed(2)} CPU s/GiB`);
  } finally {
    await s3.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
