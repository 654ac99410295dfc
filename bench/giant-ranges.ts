/**
 * One giant object copied through the whole pipeline (runPipelineLocally, the synthesized state machine)
 * three ways, side by side in one run, in a world where every connection is capped (the `instance`
 * regime of bench/worlds.ts: 9 MB/s per connection, 125 MB/s in all, 30 ms median first byte; AWS's
 * rates x 1/10):
 *
 * - **ranges in parallel**: Plan cuts the object into part ranges (`--range-mib`, default 1 GiB), which
 *   run as child executions `--concurrency` at once (default 8), each with 4 parts in flight;
 * - **ranges one at a time**: the same units with a Map concurrency of 1;
 * - **one invocation**: fan-out disabled (`partFanOutBytes` above the object's size): one object unit,
 *   copied by one CopyBatch invocation with the copy Lambda's settings (one GET stream, 8 MiB parts, 4
 *   in flight), as before part ranges.
 *
 * The copy settings are the copy Lambda's (shared/copy COPY_DEFAULTS), with parts signed
 * UNSIGNED-PAYLOAD (as over HTTPS; the emulator checks each part's CRC32). The object is generated as a
 * stream (1 MiB blocks), never held in memory; the embedded S3 keeps it on disk.
 *
 *   npx tsx bench/giant-ranges.ts [--size-gib 4] [--range-mib 1024] [--concurrency 8]
 *       [--modes parallel,serial,single] [--world instance|loopback] [--per-connection-mb-s 9]
 *       [--lambda-timeout 900]
 *
 * Set `POWERTOOLS_LOG_LEVEL=WARN` to keep Plan's log lines out of the output.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { EmbeddedWorld } from '../emulators/world';
import { removeStagingFolder, runPipelineLocally, type LocalRunOutcome } from '../local/pipeline';
import { COPY_DEFAULTS } from '../shared/copy';
import { inRegime, REGIMES, type Regime, type RegimeName } from './worlds';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const sizeGiB = Number(arg('size-gib', '4'));
const size = Math.round(sizeGiB * GiB);
const rangeBytes = Number(arg('range-mib', '1024')) * MiB;
const concurrency = Number(arg('concurrency', '8'));
/** The copy Lambda's timeout (900 s deployed); at the world's 1/10 rates, 9000 s is its scaled equal. */
const lambdaTimeoutSeconds = Number(arg('lambda-timeout', '900'));
const modes = arg('modes', 'parallel,serial,single').split(',') as Mode[];
const baseRegime = REGIMES[arg('world', 'instance') as RegimeName];
/** `--per-connection-mb-s`: a lower cap than the world's, so that it binds before this machine's CPU does. */
const perConnection = process.argv.includes('--per-connection-mb-s')
  ? Number(arg('per-connection-mb-s', '9'))
  : undefined;
const regime: Regime | undefined =
  baseRegime?.proxy && perConnection !== undefined
    ? {
        ...baseRegime,
        label: `${baseRegime.label.replace(/[\d.]+ MB\/s per connection/, `${perConnection} MB/s per connection`)}`,
        proxy: { ...baseRegime.proxy, perConnectionBytesPerSecond: perConnection * 1e6 },
      }
    : baseRegime;

type Mode = 'parallel' | 'serial' | 'single';

/** Deterministic bytes, 1 MiB at a time, each block stamped with its index. */
function objectStream(bytes: number): Readable {
  const base = createHash('sha256').update('giant-ranges').digest();
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += base.length) base.copy(block, i);
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= bytes) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, bytes - offset)));
      chunk.writeUInt32BE(offset / MiB, 0);
      offset += chunk.length;
      this.push(chunk);
    },
  });
}

interface Row {
  mode: string;
  seconds: number;
  mibPerSecond: number;
  childExecutions: number;
  copyInvocations: number;
  ranges: number;
  transitions: number;
}

async function main(): Promise<void> {
  if (!regime) throw new Error('--world must be instance or loopback');
  const world = await EmbeddedWorld.start({
    sourceBuckets: ['giant-src'],
    destinationBuckets: ['giant-dst'],
    credentialLifetimeSeconds: 3600,
  });
  const admin = world.s3.client('admin');
  const key = 'atl03/giant.h5';
  try {
    const seeded = Date.now();
    await admin.send(
      new PutObjectCommand({ Bucket: 'giant-src', Key: key, Body: objectStream(size), ContentLength: size }),
    );
    console.error(`seeded ${sizeGiB} GiB in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
    const rows: Row[] = [];
    await inRegime(regime, world.s3.endpoint, async (endpoint) => {
      for (const mode of modes) {
        const started = Date.now();
        const outcome: LocalRunOutcome = await runPipelineLocally(
          {
            CredentialsEndpoint: world.credentialsEndpoint,
            BearerToken: world.token,
            Source: { Bucket: 'giant-src', Key: key },
            Dest: { Bucket: 'giant-dst' },
          },
          {
            s3Config: { region: world.s3.region, endpoint, forcePathStyle: true },
            destinationCredentials: world.s3.destinationCredentials,
            maxConcurrency: mode === 'parallel' ? concurrency : 1,
            lambdaTimeoutSeconds,
            copyConcurrency: 8,
            copyOptions: {
              partSize: COPY_DEFAULTS.partSize,
              queueSize: COPY_DEFAULTS.queueSize,
              readAhead: COPY_DEFAULTS.readAhead,
              unsignedPayload: 'always',
            },
            units:
              mode === 'single'
                ? { partFanOutBytes: 2 * size }
                : { partFanOutBytes: Math.min(size - 1, 4 * GiB), rangeBytes },
          },
        );
        const seconds = (Date.now() - started) / 1000;
        const result = outcome.result;
        if (outcome.execution.Status !== 'SUCCEEDED' || result?.Copied !== 1 || result.Bytes !== size) {
          throw new Error(`${mode}: ${outcome.execution.Status} ${JSON.stringify(result)}`);
        }
        rows.push({
          mode,
          seconds,
          mibPerSecond: size / MiB / seconds,
          childExecutions: outcome.usage.childExecutions,
          copyInvocations: outcome.usage.invocations.copy,
          ranges: mode === 'single' ? 0 : outcome.usage.childExecutions,
          transitions: outcome.usage.transitions,
        });
        console.error(`${mode}: ${seconds.toFixed(1)} s`);
        await removeStagingFolder(outcome.staging);
        await admin.send(new DeleteObjectCommand({ Bucket: 'giant-dst', Key: key }));
      }
    });
    const single = rows.find((r) => r.mode === 'single');
    console.log(`\n${sizeGiB} GiB object, ${regime.label}\n`);
    console.log(
      '| mode | wall s | MiB/s | speed-up vs one invocation | child executions | copy invocations | state transitions |',
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const label =
        r.mode === 'parallel'
          ? `ranges in parallel (${r.ranges} ranges, ${concurrency} at once)`
          : r.mode === 'serial'
            ? `ranges one at a time (${r.ranges} ranges)`
            : 'one invocation (fan-out disabled)';
      const speedUp = single ? `${(single.seconds / r.seconds).toFixed(2)} x` : '-';
      console.log(
        `| ${label} | ${r.seconds.toFixed(1)} | ${r.mibPerSecond.toFixed(1)} | ${speedUp} | ${r.childExecutions} | ${r.copyInvocations} | ${r.transitions} |`,
      );
    }
  } finally {
    admin.destroy();
    await world.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
