/**
 * What checking a copy against its published checksum costs: CPU seconds per GiB of each algorithm the
 * copy verifies (MD5, SHA-1, SHA-256, SHA-512), hashed as the copy hashes, through the copy engine's own
 * ByteVerifier in 64 KiB chunks (the size HTTP bodies arrive in), plus the MD5-ETag check for comparison.
 * Single-threaded, no network: the number is the hash pass alone, to compare with the copy's own CPU per
 * GiB in docs/PERFORMANCE.md.
 * Run: `npx tsx bench/verify-cost.ts [GiB per run, default 1] [runs, default 3]`.
 */
import { randomBytes } from 'node:crypto';
import type { PublishedChecksumAlgorithm } from '../shared/cmr';
import { ByteVerifier, type Check } from '../shared/copy/verify';

const GiB = 1024 ** 3;
const CHUNK = 64 * 1024;
const gib = Number(process.argv[2] ?? 1);
const runs = Number(process.argv[3] ?? 3);
const size = Math.round(gib * GiB);
// Distinct chunks, reused: what is hashed is the same number of bytes as a real copy.
const chunks = Array.from({ length: 64 }, () => randomBytes(CHUNK));

const HEX: Record<PublishedChecksumAlgorithm, number> = {
  MD5: 32,
  'SHA-1': 40,
  'SHA-256': 64,
  'SHA-512': 128,
};

/** CPU seconds (user + system) to stream `size` bytes through a verifier of `check`. */
async function cpuSeconds(check: Check): Promise<number> {
  // A wrong expected value: the digest is computed all the same, and the mismatch is expected.
  const verifier = new ByteVerifier({ size, check, description: 'bench' });
  const before = process.cpuUsage();
  for (let done = 0, i = 0; done < size; done += CHUNK, i++) verifier.add(chunks[i % chunks.length]);
  await verifier.finish().catch(() => undefined);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const checks: [string, Check][] = [
    ['size only (no digest)', { kind: 'size' }],
    ['md5-etag (the default check)', { kind: 'md5-etag', md5: '0'.repeat(32) }],
    ...(Object.keys(HEX) as PublishedChecksumAlgorithm[]).map((algorithm): [string, Check] => [
      `${algorithm} published`,
      { kind: 'published', checksum: { algorithm, value: '0'.repeat(HEX[algorithm]) } },
    ]),
  ];
  process.stdout.write(
    `${gib} GiB per run, ${runs} runs, ${CHUNK / 1024} KiB chunks, Node ${process.version}\n`,
  );
  process.stdout.write('| check | CPU s/GiB, median (runs) |\n| --- | --- |\n');
  for (const [name, check] of checks) {
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) samples.push((await cpuSeconds(check)) / gib);
    const list = samples.map((s) => s.toFixed(2)).join(' / ');
    process.stdout.write(`| ${name} | ${median(samples).toFixed(2)} (${list}) |\n`);
  }
}

void main();
