import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { DELETE_BATCH_SIZE, deleteObjects } from '../../../shared/mirror/delete-objects';

const BUCKET = 'mirror-bucket';
let s3: EmbeddedS3;
let client: S3Client;
let admin: S3Client;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: [], destinationBuckets: [BUCKET] });
  client = s3.client('destination');
  admin = s3.client('admin');
});
afterAll(async () => s3.stop());
beforeEach(() => {
  s3.resetCounters();
  s3.resetFaults();
  s3.allowDestination(BUCKET);
});

async function keysIn(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function seed(keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 100) {
    await Promise.all(keys.slice(i, i + 100).map((key) => s3.seedObject(BUCKET, key, `body of ${key}`)));
  }
}

async function* lazily(keys: string[]): AsyncGenerator<string> {
  for (const key of keys) yield key;
}

describe('deleteObjects against the embedded S3 (real HTTP, DeleteObjects)', () => {
  it('deletes in requests of 1000 keys and leaves the rest alone', async () => {
    const doomed = Array.from({ length: 2500 }, (_, i) => `a/gone-${String(i).padStart(4, '0')}.nc`);
    await seed([...doomed, 'a/kept.nc', 'b/kept.nc']);
    const outcome = await deleteObjects({ client, bucket: BUCKET, keys: lazily(doomed) });
    expect(outcome).toEqual({ deleted: 2500, failed: 0, errors: [] });
    expect(s3.counters.requests.DeleteObjects).toBe(Math.ceil(2500 / DELETE_BATCH_SIZE));
    expect(await keysIn('a/')).toEqual(['a/kept.nc']);
    expect(await keysIn('b/')).toEqual(['b/kept.nc']);
  });

  it('is idempotent: keys already gone count as deleted', async () => {
    const keys = ['c/1', 'c/2', 'c/3'];
    await seed(keys.slice(0, 2));
    expect(await deleteObjects({ client, bucket: BUCKET, keys })).toEqual({
      deleted: 3,
      failed: 0,
      errors: [],
    });
    expect(await deleteObjects({ client, bucket: BUCKET, keys })).toEqual({
      deleted: 3,
      failed: 0,
      errors: [],
    });
    expect(await deleteObjects({ client, bucket: BUCKET, keys: [] })).toEqual({
      deleted: 0,
      failed: 0,
      errors: [],
    });
    expect(await keysIn('c/')).toEqual([]);
  });

  it('deletes keys with spaces, +, %, unicode above U+FFFF and XML-unsafe characters', async () => {
    const keys = [
      'd/a b+c.nc',
      'd/100%.nc',
      'd/été/\u{1f600}.nc',
      'd/\ue000.nc',
      'd/tab\there',
      'd/ctl\u0001.nc',
    ];
    await seed([...keys, 'd/kept']);
    const outcome = await deleteObjects({ client, bucket: BUCKET, keys });
    expect(outcome).toEqual({ deleted: keys.length, failed: 0, errors: [] });
    expect(await keysIn('d/')).toEqual(['d/kept']);
    // The key XML 1.0 cannot carry went by DeleteObject, the others in one DeleteObjects.
    expect(s3.counters.requests.DeleteObject).toBe(1);
    expect(s3.counters.requests.DeleteObjects).toBe(1);
  });

  it('refuses keys outside `within`, as per-key errors, deleting nothing there', async () => {
    await seed(['e/mirror/x', 'e/other/y']);
    const outcome = await deleteObjects({
      client,
      bucket: BUCKET,
      keys: ['e/mirror/x', 'e/other/y'],
      within: 'e/mirror/',
    });
    expect(outcome).toEqual({
      deleted: 1,
      failed: 1,
      errors: [{ Key: 'e/other/y', Code: 'OutsidePrefix', Message: 'not under e/mirror/: refused' }],
    });
    expect(await keysIn('e/')).toEqual(['e/other/y']);
  });

  it('rides out SlowDown (the SDK retries the request)', async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `f/${i}`);
    await seed(keys);
    s3.faults.slowDownEvery = 2;
    s3.faults.slowDownScope = { operations: ['DeleteObjects'] };
    const outcome = await deleteObjects({ client, bucket: BUCKET, keys, concurrency: 1 });
    expect(outcome.deleted).toBe(1500);
    expect(s3.counters.faults.slowDown).toBeGreaterThan(0);
    expect(await keysIn('f/')).toEqual([]);
  });

  it('fails with DestinationAccessDenied, naming allowMirrorDeletes, when the role may not delete', async () => {
    await seed(['g/1']);
    s3.denyDestination(BUCKET);
    const failure = deleteObjects({ client, bucket: BUCKET, keys: ['g/1'] });
    await expect(failure).rejects.toMatchObject({ name: 'DestinationAccessDenied' });
    await expect(failure).rejects.toThrow(/may not delete in s3:\/\/mirror-bucket.*allowMirrorDeletes/);
    s3.allowDestination(BUCKET);
    expect(await keysIn('g/')).toEqual(['g/1']);
  });
});

/** A client answering DeleteObjects itself, after `delayMs`, recording what it was sent. */
function fakeClient(answer: (keys: string[]) => { Errors?: object[] }, delayMs = 0) {
  const sent: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (command: { input: { Delete?: { Objects?: { Key?: string }[] } } }) => {
    const keys = (command.input.Delete?.Objects ?? []).map((o) => o.Key as string);
    sent.push(keys);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    inFlight--;
    return answer(keys);
  };
  return { client: { send } as unknown as S3Client, sent, maxInFlight: () => maxInFlight };
}

describe('deleteObjects: per-key errors and bounds', () => {
  it('counts per-key errors, treats NoSuchKey as deleted, and keeps at most maxErrors of them', async () => {
    const fake = fakeClient((keys) => ({
      Errors: keys
        .filter((k) => k.endsWith('x') || k.endsWith('n'))
        .map((Key) =>
          Key.endsWith('n')
            ? { Key, Code: 'NoSuchKey', Message: 'gone' }
            : { Key, Code: 'AccessDenied', Message: 'Access Denied' },
        ),
    }));
    const keys = ['1x', '2', '3n', '4x', '5x', '6'];
    const outcome = await deleteObjects({ client: fake.client, bucket: BUCKET, keys, maxErrors: 2 });
    expect(outcome).toEqual({
      deleted: 3,
      failed: 3,
      errors: [
        { Key: '1x', Code: 'AccessDenied', Message: 'Access Denied' },
        { Key: '4x', Code: 'AccessDenied', Message: 'Access Denied' },
      ],
    });
  });

  it('holds at most `concurrency` requests of 1000 keys, reading the keys only as fast as they go', async () => {
    const fake = fakeClient(() => ({}), 5);
    let produced = 0;
    let maxAhead = 0;
    async function* keys(): AsyncGenerator<string> {
      for (let i = 0; i < 20_000; i++) {
        produced++;
        const done = fake.sent.length * DELETE_BATCH_SIZE;
        maxAhead = Math.max(maxAhead, produced - done);
        yield `k/${i}`;
      }
    }
    const outcome = await deleteObjects({
      client: fake.client,
      bucket: BUCKET,
      keys: keys(),
      concurrency: 3,
    });
    expect(outcome.deleted).toBe(20_000);
    expect(fake.sent.map((batch) => batch.length)).toEqual(Array(20).fill(1000));
    expect(fake.maxInFlight()).toBe(3);
    // The keys of the batch being gathered, never more: sent batches are the client's.
    expect(maxAhead).toBeLessThanOrEqual(DELETE_BATCH_SIZE);
  });

  it('stops on abort, leaving no request running', async () => {
    const controller = new AbortController();
    const fake = fakeClient(() => ({}), 20);
    async function* keys(): AsyncGenerator<string> {
      for (let i = 0; i < 100_000; i++) {
        if (i === 3500) controller.abort(new Error('stopped by the test'));
        yield `k/${i}`;
      }
    }
    await expect(
      deleteObjects({ client: fake.client, bucket: BUCKET, keys: keys(), signal: controller.signal }),
    ).rejects.toThrow('stopped by the test');
    expect(fake.sent.length).toBe(3);
    expect(fake.maxInFlight()).toBeLessThanOrEqual(4);
  });
});
