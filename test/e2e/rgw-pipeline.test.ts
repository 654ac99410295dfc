/**
 * The pipeline end to end against Ceph RGW: the state machine synthesized from the CDK app runs
 * in-process (as in test/integration/e2e-pipeline.test.ts), reading with TEA-emulator credentials that
 * RGW's STS minted (read-only session policy, a few seconds) and writing with the destination key pair.
 * Runs with `E2E_BACKEND=rgw` (`npm run test:rgw`); skipped otherwise.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { TransferResult } from '../../shared/contracts';
import { runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';
import { sampleLayout, seedSample, verifyCopies, type SampleObject } from '../../emulators/sample';
import { listKeys, runCli, writeEvent } from '../helpers/cli';
import { rgwSelected, startRgwWorld, type RgwWorld } from './backends/rgw';

const describeRgw = rgwSelected() ? describe : describe.skip;
const MiB = 1024 * 1024;
const PREFIX = 'granules/';
const ODD_KEYS = [
  'odd/unicode 雪 été.h5',
  'odd/plus+sign.txt',
  'odd/percent%25and%.txt',
  'odd//double-slash.txt',
  `odd/${'k'.repeat(1024 - PREFIX.length - 'odd/'.length)}`,
];
const WORKERS = 4;
const LIFETIME_SECONDS = 3;

jest.setTimeout(180_000);

describeRgw('the pipeline on RGW', () => {
  let world: RgwWorld;
  let admin: S3Client;
  let objects: SampleObject[];
  let source: string;
  let dest: string;

  const destKey = (k: string): string => `mirror/${k.slice(PREFIX.length)}`;
  const baseEvent = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    CredentialsEndpoint: world.credentialsEndpoint,
    BearerToken: world.token,
    Source: { Bucket: source, Prefix: PREFIX },
    Dest: { Bucket: dest, Prefix: 'mirror/' },
    ...extra,
  });
  const localOptions = (): LocalRunOptions => ({
    s3Config: { region: world.region, endpoint: world.s3Endpoint, forcePathStyle: true },
    destinationCredentials: world.destinationCredentials,
    maxConcurrency: WORKERS,
  });

  beforeAll(async () => {
    world = await startRgwWorld({ credentialLifetimeSeconds: LIFETIME_SECONDS });
    [source] = world.sourceBuckets;
    [dest] = world.destinationBuckets;
    admin = world.adminClient();
    // 80 objects: a 40 MiB one (5 parts of 8 MiB), some of 6 MiB, an empty one, odd keys.
    const layout = sampleLayout(80 - ODD_KEYS.length, PREFIX, 40 * MiB);
    for (const key of ODD_KEYS) layout.push({ key: PREFIX + key, size: 777 });
    objects = await seedSample(admin, source, layout);
  });

  afterAll(async () => {
    await world?.stop();
  });

  describe('a prefix of 80 objects while credentials live 3 s', () => {
    let result: TransferResult;
    let seconds: number;

    beforeAll(async () => {
      world.tea.reset();
      const started = Date.now();
      const outcome = await runPipelineLocally(baseEvent(), localOptions());
      seconds = (Date.now() - started) / 1000;
      expect(outcome.execution).toMatchObject({ Status: 'SUCCEEDED' });
      result = outcome.result!;
    });

    it('copies every object byte for byte, odd keys included', async () => {
      expect(objects.some((o) => o.size === 40 * MiB)).toBe(true);
      expect(objects.some((o) => o.size === 0)).toBe(true);
      expect(await verifyCopies(admin, dest, objects, destKey)).toEqual([]);
      expect(await listKeys(admin, dest, 'mirror/')).toEqual(objects.map((o) => destKey(o.key)).sort());
    });

    it('reports the right counts', () => {
      expect(result).toMatchObject({ Copied: objects.length, Skipped: 0, Failed: 0, Failures: [] });
      expect(result.Bytes).toBe(objects.reduce((n, o) => n + o.size, 0));
    });

    it('calls the credentials endpoint per worker and refresh, never per object', () => {
      const refreshesBound = Math.ceil(seconds / (LIFETIME_SECONDS - 1)) + 1;
      // RGW copies this sample in about as long as the credentials live: refreshes are certain only
      // when the run outlived them.
      expect(world.tea.issued).toBeGreaterThanOrEqual(seconds > LIFETIME_SECONDS ? 2 : 1);
      expect(world.tea.calls).toBeLessThanOrEqual(WORKERS + 1 + refreshesBound);
      expect(world.tea.calls).toBeLessThan(objects.length / 2);
    });

    it('writes multipart copies with -N ETags and the source ETag in metadata', async () => {
      const large = objects.find((o) => o.size === 40 * MiB)!;
      const head = await admin.send(new HeadObjectCommand({ Bucket: dest, Key: destKey(large.key) }));
      expect(head.ETag).toMatch(/^"[0-9a-f]{32}-5"$/);
      const sourceHead = await admin.send(new HeadObjectCommand({ Bucket: source, Key: large.key }));
      expect(head.Metadata?.['source-etag']).toBe(sourceHead.ETag!.replace(/"/g, ''));
    });

    it('skips everything on a Sync rerun', async () => {
      const outcome = await runPipelineLocally(baseEvent({ Options: { Sync: true } }), localOptions());
      expect(outcome.result).toMatchObject({ Copied: 0, Skipped: objects.length, Failed: 0 });
    });
  });

  it('runs from the command line: a Keys list with one missing key gives Failed 1 and exit 1', async () => {
    const keys = [...objects.filter((o) => o.size > 0 && o.size < MiB).map((o) => o.key)].slice(0, 3);
    keys.push(`${PREFIX}does/not/exist.h5`);
    const file = await writeEvent({
      ...baseEvent(),
      Source: { Bucket: source, Keys: keys },
      Dest: { Bucket: dest, Prefix: 'keys/' },
    });
    const out = await runCli(['run', '--event', file], world.processEnv());
    expect(out.code).toBe(1);
    const result = JSON.parse(out.stdout) as TransferResult;
    expect(result).toMatchObject({ Copied: 3, Failed: 1 });
    expect(result.Failures).toEqual([
      expect.objectContaining({ Key: `${PREFIX}does/not/exist.h5`, Error: 'SourceNotFound' }),
    ]);
    expect(await listKeys(admin, dest, 'keys/')).toEqual(
      keys
        .slice(0, 3)
        .map((k) => `keys/${k}`)
        .sort(),
    );
    for (const stream of [out.stdout, out.stderr]) {
      expect(stream).not.toContain(world.token);
      expect(stream).not.toContain(world.destinationCredentials.secretAccessKey);
    }
  });
});
