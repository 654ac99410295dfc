/**
 * A mirror's rerun after a few changes, side by side, on the embedded world (loopback, no latency):
 * N tiny objects mirrored, then at the source 10 changed (5 to another size, 5 to the same size), 5 added
 * and 5 deleted. Each contender reruns the mirror into its own destination prefix, seeded as the previous
 * run left it:
 * - ours: Sync from both listings with Delete (the pipeline on the local host);
 * - today's: Sync as before (every object through the map, one destination HEAD each; no Delete);
 * - `rclone sync --update --use-server-modtime` (rclone's listing-only rule: skip what is newer at the
 *   destination, LastModified as the time, deletes what the source lacks).
 * Prints seconds, objects/s (objects considered per second) and the requests each side received.
 * Run: `npx tsx bench/mirror-rerun.ts [objects]` (default 10000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { EmbeddedWorld } from '../emulators/world';
import { SOURCE_ETAG_METADATA } from '../shared/copy/copy-object';
import { runPipelineLocally, removeStagingFolder } from '../local/pipeline';
import { rclone, rcloneConfig } from './peers';

const N = Number(process.argv[2] ?? 10_000);
const SOURCE = 'bench-source';
const DEST = 'bench-mirror';
const PREFIX = 'granules/';
const CONTENDERS = ['ours', 'today', 'rclone'] as const;
type Contender = (typeof CONTENDERS)[number];

const key = (i: number): string => `${PREFIX}${String(i % 100).padStart(2, '0')}/g-${i}.nc`;
const body = (i: number, version = 1): string => `granule ${i} v${version}`;
const mirrorKey = (who: Contender, k: string): string => `${who}/${k.slice(PREFIX.length)}`;

async function inParallel<T>(items: T[], width: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

async function main(): Promise<void> {
  const world = await EmbeddedWorld.start({ sourceBuckets: [SOURCE], destinationBuckets: [DEST] });
  const { s3 } = world;
  const outDir = mkdtempSync(join(tmpdir(), 'mirror-rerun-'));
  try {
    const all = Array.from({ length: N }, (_, i) => i);
    await inParallel(all, 32, async (i) => {
      const { etag } = await s3.seedObject(SOURCE, key(i), body(i));
      for (const who of CONTENDERS) {
        await s3.seedObject(DEST, mirrorKey(who, key(i)), body(i), {
          [`x-amz-meta-${SOURCE_ETAG_METADATA}`]: etag,
        });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const step = Math.floor(N / 10);
    for (let j = 0; j < 5; j++)
      await s3.seedObject(SOURCE, key(j * step + 1), `${body(j * step + 1, 2)} longer`);
    for (let j = 5; j < 10; j++) await s3.seedObject(SOURCE, key(j * step + 1), body(j * step + 1, 3));
    for (let j = 0; j < 5; j++) await s3.seedObject(SOURCE, key(N + j), body(N + j));
    await s3.client('admin').send(
      new DeleteObjectsCommand({
        Bucket: SOURCE,
        Delete: { Objects: [0, 1, 2, 3, 4].map((j) => ({ Key: key(j * step + 2) })) },
      }),
    );

    const rows: string[] = [];
    for (const who of CONTENDERS) {
      s3.resetCounters();
      const started = performance.now();
      let result = '';
      if (who === 'rclone') {
        const issued = s3.issue(3600, 'bench');
        const config = rcloneConfig({
          endpoint: s3.endpoint,
          region: s3.region,
          source: issued,
          destination: s3.destinationCredentials,
          outDir,
        });
        await rclone(
          {
            endpoint: s3.endpoint,
            region: s3.region,
            source: issued,
            destination: s3.destinationCredentials,
            outDir,
          },
          config,
          [
            'sync',
            `src:${SOURCE}/${PREFIX}`,
            `dst:${DEST}/${who}/`,
            '--update',
            '--use-server-modtime',
            '--transfers',
            '8',
            '--checkers',
            '8',
          ],
        );
        result = 'exit 0';
      } else {
        const outcome = await runPipelineLocally(
          {
            CredentialsEndpoint: world.credentialsEndpoint,
            BearerToken: world.token,
            Source: { Bucket: SOURCE, Prefix: PREFIX },
            Dest: { Bucket: DEST, Prefix: `${who}/` },
            Options: { Sync: true, ...(who === 'ours' && { Delete: true }) },
          },
          {
            s3Config: { region: s3.region, endpoint: s3.endpoint, forcePathStyle: true },
            destinationCredentials: s3.destinationCredentials,
            syncFromListings: who === 'ours',
          },
        );
        const r = outcome.result;
        result = r
          ? `Copied ${r.Copied}, Skipped ${r.Skipped}${r.Deleted !== undefined ? `, Deleted ${r.Deleted}` : ''}`
          : outcome.execution.Status;
        await removeStagingFolder(outcome.staging);
      }
      const seconds = (performance.now() - started) / 1000;
      const by = s3.counters.requestsByCredential;
      const count = (ops: Record<string, number>): number => Object.values(ops).reduce((a, b) => a + b, 0);
      const dest = by.destination;
      rows.push(
        `| ${who} | ${seconds.toFixed(1)} | ${Math.round(N / seconds)} | ${count(by.issued)} | ` +
          `${count(dest)} | ${dest.HeadObject ?? 0} | ${dest.ListObjectsV2 ?? 0} | ${result} |`,
      );
    }
    console.log(`mirror rerun of ${N} objects (10 changed, 5 added, 5 deleted at the source)\n`);
    console.log(
      '| contender | s | objects/s | source requests | destination requests | dest HEAD | dest List | result |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    await world.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
