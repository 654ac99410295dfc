/**
 * Ctrl-C during `run`, as a user presses it: the command stops promptly and deliberately (copies in
 * flight aborted with their multipart uploads, the staged token deleted), exits 130, and writes nothing
 * afterwards; a Sync rerun finishes the copy.
 */
import { readdir } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { sampleLayout, seedSample, verifyCopies, type SampleObject } from '../../emulators/sample';
import { itNeeds, startE2EWorld, type E2EWorld } from './world';
import { listKeys, runCli, startCli, writeEvent } from '../helpers/cli';

const MiB = 1024 * 1024;
const SOURCE_NAME = 'interrupt-source';
const DEST_NAME = 'interrupt-destination';
let SOURCE: string;
let DEST: string;
const PREFIX = 'granules/';

jest.setTimeout(180_000);

let world: E2EWorld;
let admin: S3Client;
let objects: SampleObject[];

beforeAll(async () => {
  world = await startE2EWorld({
    sourceBuckets: [SOURCE_NAME],
    destinationBuckets: [DEST_NAME],
    credentialLifetimeSeconds: 3600,
  });
  SOURCE = world.bucket(SOURCE_NAME);
  DEST = world.bucket(DEST_NAME);
  admin = world.adminClient();
  // 300 objects: one of 48 MiB (a multipart upload that is certainly in flight), the rest small.
  objects = await seedSample(admin, SOURCE, sampleLayout(300, PREFIX, 48 * MiB));
});

afterAll(async () => {
  admin?.destroy();
  await world?.stop();
});

const destKey = (key: string): string => `copy/${key.slice(PREFIX.length)}`;

itNeeds('emulator', 'slowing the copy down needs the emulator’s bandwidth fault')(
  'stops within 5 s of one Ctrl-C with exit 130, leaves no upload open and writes nothing after; Sync finishes',
  async () => {
    const event = {
      CredentialsEndpoint: world.credentialsEndpoint,
      BearerToken: world.token,
      Source: { Bucket: SOURCE, Prefix: PREFIX },
      Dest: { Bucket: DEST, Prefix: 'copy/' },
    };
    const staging = await mkdtemp(join(tmpdir(), 'interrupt-staging-'));
    // Slow source bodies: the copy lasts long enough to be interrupted in the middle.
    world.emulator!.faults.getBytesPerSecond = 2 * MiB;
    world.emulator!.faults.bandwidthScope = { credentials: 'issued' };
    const running = startCli(
      ['run', '--event', await writeEvent(event), '--staging', staging, '--concurrency', '4'],
      world.processEnv(),
    );
    await running.waitForStderr('planned 300 objects');
    // Some objects are done, and a multipart upload is in flight.
    const inFlight = async (): Promise<boolean> =>
      (await listKeys(admin, DEST, 'copy/')).length >= 5 &&
      (await world.emulator!.openMultipartUploads(DEST)) > 0;
    for (let i = 0; i < 300 && !(await inFlight()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await world.emulator!.openMultipartUploads(DEST)).toBeGreaterThan(0);

    const interruptedAt = Date.now();
    running.child.kill('SIGINT');
    // A second Ctrl-C during the cleanup must not cut it short.
    setTimeout(() => running.child.kill('SIGINT'), 200);
    const result = await running.done;
    const seconds = (Date.now() - interruptedAt) / 1000;

    expect(result.code).toBe(130);
    expect(seconds).toBeLessThan(5);
    expect(result.stderr).toContain('interrupted: aborting the copies in flight');
    expect(result.stderr).toMatch(/stopped: \d+ of 300 objects done .*; \d+ not copied/);
    expect(result.stdout).toBe('');
    expect(await world.emulator!.openMultipartUploads(DEST)).toBe(0);
    // The staged token is gone from the staging folder (the run's files stay: --staging keeps them).
    expect(await readdir(join(staging, 'tokens')).catch(() => [])).toEqual([]);

    world.emulator!.faults.getBytesPerSecond = 0;
    const copiedAtExit = await listKeys(admin, DEST, 'copy/');
    expect(copiedAtExit.length).toBeLessThan(objects.length);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await listKeys(admin, DEST, 'copy/')).toEqual(copiedAtExit);

    const rerun = await runCli(
      ['run', '--event', await writeEvent({ ...event, Options: { Sync: true } })],
      world.processEnv(),
    );
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout) as { Copied: number; Skipped: number; Failed: number };
    expect(summary.Failed).toBe(0);
    expect(summary.Skipped).toBe(copiedAtExit.length);
    expect(summary.Copied + summary.Skipped).toBe(objects.length);
    expect(await verifyCopies(admin, DEST, objects, destKey)).toEqual([]);
  },
);
