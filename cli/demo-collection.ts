/**
 * The demo's second part: the same pipeline, asked for a CMR collection and a time range instead of a
 * prefix. An emulated CMR (emulators/cmr/) serves a small synthetic collection whose files the embedded
 * S3 holds; every file is verified against the checksum its (emulated) archive published.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ItemResult, TransferResult } from '../shared/contracts';
import type { StagingStore } from '../shared/staging';
import { executionError, runPipelineLocally } from '../local/pipeline';
import { startCmrEmulator, type CmrEmulator } from '../emulators/cmr/emulator';
import { syntheticCollection } from '../emulators/cmr/fixtures';
import type { EmbeddedWorld } from '../emulators/world';

/** Granules of the demo collection (3 hours each, from 2024-01-01) and the days the event asks for. */
const GRANULES = 48;
const DAYS = 3;
/** Small pages, so that the demo shows CMR's search-after paging. */
const PAGE_SIZE = 10;
export const DEMO_COLLECTION_ID = 'C1200000001-EMU_CLOUD';

export interface CollectionDemo {
  readonly cmr: CmrEmulator;
  readonly event: Record<string, unknown>;
  /** 0 when every file was copied and verified. */
  readonly failed: number;
}

/** Runs the collection example and explains it on stderr; the caller closes `cmr`. */
export async function demoCollection(
  world: EmbeddedWorld,
  admin: S3Client,
  buckets: { source: string; dest: string },
  staging: StagingStore,
  log: (line: string) => void,
  cmrPort?: number,
): Promise<CollectionDemo> {
  const sst = syntheticCollection({
    conceptId: DEMO_COLLECTION_ID,
    shortName: 'EMU-SST',
    version: '1',
    granules: GRANULES,
    buckets: [buckets.source],
    credentialsEndpoint: world.credentialsEndpoint,
  });
  const cmr = await startCmrEmulator({ collections: [sst.collection], tokens: [world.token], port: cmrPort });
  for (const o of sst.objects) {
    await admin.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: o.body }));
  }
  const event = {
    BearerToken: world.token,
    AppName: 's3-direct-transfer-demo',
    Source: {
      Collection: { ShortName: 'EMU-SST', Version: '1' },
      CmrUrl: cmr.url,
      Temporal: ['2024-01-01T00:00:00Z', `2024-01-0${1 + DAYS}T00:00:00Z`],
    },
    Dest: { Bucket: buckets.dest, Prefix: 'collection/' },
  };
  log('');
  log(`Now a collection: an emulated CMR at ${cmr.url} knows ${GRANULES} granules of ${DEMO_COLLECTION_ID}`);
  log(`(2 files each, with published SHA-256 and MD5 checksums). The event asks for ${DAYS} days of it:`);
  log(`  ${JSON.stringify({ ...event, BearerToken: '<token>' })}`);
  const outcome = await runPipelineLocally(event, {
    s3Config: { region: world.s3.region, endpoint: world.s3.endpoint, forcePathStyle: true },
    destinationCredentials: world.s3.destinationCredentials,
    staging,
    cmrPageSize: PAGE_SIZE,
  });
  if (outcome.execution.Status !== 'SUCCEEDED') {
    const error = executionError(outcome.execution);
    log(`the collection run failed: ${error.name}: ${error.message}`);
    return { cmr, event, failed: 1 };
  }
  const result = outcome.result as TransferResult;
  const report = JSON.parse((await staging.getText(result.Report!.Key)) ?? '{"Items":[]}') as {
    Items: ItemResult[];
  };
  const checks = new Map<string, number>();
  for (const item of report.Items)
    checks.set(item.Check ?? 'none', (checks.get(item.Check ?? 'none') ?? 0) + 1);
  const cmrSummary = result.Cmr;
  log(
    `  Plan found the collection by short name and version, took its credentials endpoint from its metadata, and ` +
      `read ${cmrSummary?.Hits ?? '?'} matching granules over ${cmrSummary?.Pages ?? '?'} CMR pages (CMR-Search-After).`,
  );
  log(
    `  Copied ${result.Copied}, failed ${result.Failed}; each file checked while it streamed: ` +
      [...checks].map(([check, n]) => `${n} ${check}`).join(', ') +
      '. Each report line names its GranuleUR.',
  );
  return { cmr, event, failed: result.Failed };
}
