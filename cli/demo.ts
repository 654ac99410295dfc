import type { TransferResult } from '../shared/contracts';
import { S3StagingStore } from '../shared/staging';
import { executionError, runPipelineLocally } from '../local/pipeline';
import { sampleLayout, seedSample, verifyCopies } from '../emulators/sample';
import { EmbeddedWorld } from '../emulators/world';
import { demoCollection, type CollectionDemo } from './demo-collection';
import { exitCodeFor } from './exit-codes';
import { formatBytes, ProgressReporter } from './progress';

export interface DemoOptions {
  keep?: boolean;
  objects: number;
  credentialLifetime: number;
  quiet?: boolean;
}

const MiB = 1024 * 1024;
const SOURCE_PREFIX = 'granules/';

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
  let collection: CollectionDemo | undefined;
  try {
    log(`embedded S3 at ${world.s3.endpoint}, TEA credentials endpoint at ${world.credentialsEndpoint}`);
    log(
      `credentials live ${options.credentialLifetime} s, so a copy that runs longer must refresh them as it goes`,
    );
    const seedStarted = Date.now();
    const objects = await seedSample(admin, sourceBucket, sampleLayout(options.objects, SOURCE_PREFIX));
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
    const refreshes = Math.max(0, world.tea.calls - 1);
    log(
      refreshes > 0
        ? `  Credential refreshes: ${refreshes}, each ahead of expiry, while copies were running.`
        : `  Credential refreshes: none. The copy finished within the credentials' ${options.credentialLifetime} s ` +
            `lifetime; --credential-lifetime 1 shows refreshes.`,
    );
    log(
      `  Expired-token answers from S3: ${world.s3.counters.errors.ExpiredToken ?? 0} (each one refreshed and retried).`,
    );
    log(
      bad.length === 0
        ? `  Verified: all ${objects.length} destination objects match their source byte for byte (sha256).`
        : `  VERIFICATION FAILED for ${bad.length} objects: ${bad.slice(0, 5).join(', ')}`,
    );
    collection = await demoCollection(
      world,
      admin,
      { source: sourceBucket, dest: destBucket },
      new S3StagingStore(destinationClient, stagingBucket),
      log,
      options.keep ? 4568 : undefined,
    );
    if (options.keep) {
      printKeep(world, event, destBucket);
      log(
        `  CMR (emulated):        ${collection.cmr.url}   a collection event: ${JSON.stringify(collection.event)}`,
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    if (bad.length > 0 || collection.failed > 0) return 1;
    return exitCodeFor({ status: outcome.execution.Status, failed: result.Failed });
  } finally {
    await collection?.cmr.close();
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
