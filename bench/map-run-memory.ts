/**
 * Runs the synthesized definition (local/definition/definition.json) through the one-machine host with
 * trivial Lambda handlers over N tiny manifest items, and prints the time, the Map Run's size and the peak
 * RSS and heap, so that the Map Run's memory at 10,000 and at 1,000,000 items can be compared.
 * Run: `npx tsx bench/map-run-memory.ts [items]` (default 10000). With `NODE_OPTIONS=--expose-gc` it also
 * prints the heap that survives a full collection (sampled every 500 ms), which is what the run retains.
 */
import { emptyUnitCounts, unitObjects } from '../shared/units';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CopyBatchInput, CopyBatchOutput, ManifestItem, PlanOutput } from '../shared/contracts';
import { FolderStagingStore } from '../shared/staging';
import { childEntries, readResultManifest } from '../functions/summarize/result-reader';
import { loadDefinitionArtifact } from '../local/definition/artifact';
import { loadStateMachine } from '../local/stepfunctions/host';

const ITEMS = Number(process.argv[2] ?? 10_000);
const MiB = 1024 * 1024;

/** The manifest, generated line by line so that the bench itself holds no item list. */
/** Packs of 20 objects (as many child executions as the ItemBatcher of earlier versions made). */
const PACK = 20;

function* manifestLines(count: number): Generator<string> {
  for (let first = 0; first < count; first += PACK) {
    const pack: ManifestItem[] = [];
    for (let n = first; n < Math.min(count, first + PACK); n++) {
      pack.push({ Key: `granules/${n}.nc`, DestKey: `copy/${n}.nc`, Size: 1000, ETag: `e${n}` });
    }
    yield `${JSON.stringify({ Pack: pack })}\n`;
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(ITEMS) || ITEMS < 1)
    throw new Error(`items must be a positive integer, got ${ITEMS}`);
  let peakHeap = 0;
  let peakRss = 0;
  const sample = (): void => {
    const memory = process.memoryUsage();
    peakHeap = Math.max(peakHeap, memory.heapUsed);
    peakRss = Math.max(peakRss, memory.rss);
  };
  const sampler = setInterval(sample, 20);
  const gc = (globalThis as { gc?: () => void }).gc;
  let retainedHeap = 0;
  const collector = gc
    ? setInterval(() => {
        gc();
        retainedHeap = Math.max(retainedHeap, process.memoryUsage().heapUsed);
      }, 500)
    : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'map-run-memory-'));
  const staging = new FolderStagingStore(dir, 'local-staging');
  const artifact = loadDefinitionArtifact();
  let batches = 0;
  let entries = 0;

  const plan = async (event: unknown): Promise<PlanOutput> => {
    const { Execution } = event as { Execution: { Name: string } };
    const prefix = `runs/${Execution.Name}/`;
    await staging.put(`${prefix}manifest.jsonl`, Readable.from(manifestLines(ITEMS)));
    return {
      Manifest: { Bucket: staging.bucket, Key: `${prefix}manifest.jsonl` },
      Count: ITEMS,
      Bytes: ITEMS * 1000,
      Units: {
        ...emptyUnitCounts(),
        Packs: Math.ceil(ITEMS / PACK),
        PackedObjects: ITEMS,
        Lines: Math.ceil(ITEMS / PACK),
      },
      DryRun: false,
      BatchInput: {
        CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
        Token: { Kind: 'bearer-parameter', Parameter: '/bench/unused' },
        SourceBucket: 'source-bucket',
        DestBucket: 'dest-bucket',
        Sync: false,
        RunId: Execution.Name,
      },
      Staging: { Bucket: staging.bucket, Prefix: prefix },
    };
  };
  const copy = async (event: unknown): Promise<CopyBatchOutput> => {
    const input = event as CopyBatchInput;
    batches++;
    const results = unitObjects(input.Unit!).map((item) => ({
      Key: item.Key,
      DestKey: item.DestKey,
      Status: 'COPIED' as const,
      Bytes: item.Size ?? 0,
    }));
    return { Results: [...(input.Results ?? []), ...results], Stalled: 0, BatchInput: input.BatchInput };
  };
  // Counts the result entries by streaming them, as the real Summarize reads them.
  const summarize = async (event: unknown): Promise<unknown> => {
    const { Map } = event as { Map: { ResultWriterDetails?: { Key: string }; Error?: string } };
    if (!Map.ResultWriterDetails) throw new Error(`the Map Run failed: ${JSON.stringify(Map)}`);
    const manifest = await readResultManifest(staging, Map.ResultWriterDetails.Key);
    for (const files of Object.values(manifest!.ResultFiles)) {
      for (const file of files ?? []) for await (const _entry of childEntries(staging, file.Key)) entries++;
    }
    return { Children: entries };
  };

  const machine = loadStateMachine(artifact.definition, {
    staging,
    stagingBucketPlaceholder: artifact.stagingBucketPlaceholder,
    handlers: {
      [artifact.functions.plan]: plan,
      [artifact.functions.copy]: copy,
      [artifact.functions.summarize]: summarize,
    },
    maxConcurrencyCap: 8,
    validate: false,
  });
  const started = process.hrtime.bigint();
  try {
    const outcome = await machine.run({ Source: { Bucket: 'source-bucket' } }, { name: 'bench' });
    sample();
    if (outcome.Status !== 'SUCCEEDED') throw new Error(`the execution ended ${JSON.stringify(outcome)}`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const report = {
      items: ITEMS,
      batches,
      resultEntries: entries,
      seconds: Number(seconds.toFixed(1)),
      peakRssMiB: Math.round(peakRss / MiB),
      maxRssMiB: Math.round((process.resourceUsage().maxRSS * 1024) / MiB),
      peakHeapMiB: Math.round(peakHeap / MiB),
      ...(gc && { retainedHeapMiB: Math.round(retainedHeap / MiB) }),
    };
    console.log(JSON.stringify(report));
  } finally {
    clearInterval(sampler);
    clearInterval(collector);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
