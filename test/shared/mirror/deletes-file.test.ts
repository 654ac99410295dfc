import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TransferError } from '../../../shared/errors';
import {
  checkMaxDeletes,
  DeletesWriter,
  readDeletes,
  type PlannedDelete,
} from '../../../shared/mirror/deletes-file';
import { deletesKey } from '../../../shared/run-files';
import { FolderStagingStore, type StagingStore } from '../../../shared/staging';

let dir: string;
let staging: FolderStagingStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deletes-file-'));
  staging = new FolderStagingStore(dir, 'staging-bucket');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function all(staging: StagingStore, key: string): Promise<PlannedDelete[]> {
  const out: PlannedDelete[] = [];
  for await (const planned of readDeletes(staging, key)) out.push(planned);
  return out;
}

describe('the deletions file', () => {
  it('lives in the run folder as deletes.jsonl', () => {
    expect(deletesKey('exec-1')).toBe('runs/exec-1/deletes.jsonl');
  });

  it('streams planned deletions in, counts them, and reads them back in order', async () => {
    const writer = new DeletesWriter(staging, deletesKey('run-1'));
    const keys = Array.from({ length: 5000 }, (_, i) => `mirror/${String(i).padStart(5, '0')}.nc`);
    // Keys that could break a line-based file: a line separator, quotes, backslashes, astral characters.
    keys.push('mirror/a\u2028b', 'mirror/"quoted"\\', 'mirror/\u{1f600}\r\n.nc');
    for (const [i, key] of keys.entries()) await writer.add(key, i);
    expect(await writer.close()).toEqual({
      count: keys.length,
      bytes: ((keys.length - 1) * keys.length) / 2,
    });
    const read = await all(staging, deletesKey('run-1'));
    expect(read.map((p) => p.DestKey)).toEqual(keys);
    expect(read[7]).toEqual({ DestKey: 'mirror/00007.nc', Size: 7 });
    const text = await readFile(join(dir, 'runs', 'run-1', 'deletes.jsonl'), 'utf8');
    expect(text.split('\n')[0]).toBe('{"DestKey":"mirror/00000.nc","Size":0}');
  });

  it('never replaces another run’s file', async () => {
    const first = new DeletesWriter(staging, deletesKey('run-2'));
    await first.add('a', 1);
    await first.close();
    const second = new DeletesWriter(staging, deletesKey('run-2'));
    await expect(second.close()).rejects.toThrow(/exists/);
    expect(await all(staging, deletesKey('run-2'))).toEqual([{ DestKey: 'a', Size: 1 }]);
  });

  it('abort removes what was written', async () => {
    const writer = new DeletesWriter(staging, deletesKey('run-3'));
    await writer.add('a', 1);
    await writer.abort(new Error('plan failed'));
    expect(await staging.getText(deletesKey('run-3'))).toBeUndefined();
  });

  it('reports a store that stops reading', async () => {
    const failing: StagingStore = {
      bucket: 'staging-bucket',
      getText: (key) => staging.getText(key),
      getStream: (key) => staging.getStream(key),
      list: (prefix) => staging.list(prefix),
      delete: (key) => staging.delete(key),
      put: async (_key, body) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        (body as Readable).destroy();
        throw new Error('staging store is down');
      },
    };
    const writer = new DeletesWriter(failing, deletesKey('run-4'));
    const big = 'k'.repeat(900);
    const writing = (async () => {
      for (let i = 0; i < 10_000; i++) await writer.add(`${big}${i}`, 1);
    })();
    await expect(writing).rejects.toThrow('staging store is down');
  });

  it('refuses a line that is not a planned deletion', async () => {
    await staging.put('bad.jsonl', '{"DestKey":"a","Size":1}\n\n{"Key":"b"}\n');
    await expect(all(staging, 'bad.jsonl')).rejects.toThrow(/bad\.jsonl: line 3 is not a planned deletion/);
    await staging.put('worse.jsonl', 'not json\n');
    await expect(all(staging, 'worse.jsonl')).rejects.toThrow(/line 1/);
  });
});

describe('checkMaxDeletes', () => {
  it('lets a run delete up to MaxDeletes, 0 included', () => {
    expect(() => checkMaxDeletes(1000, 1000, 's3://b/p/', 'runs/x/deletes.jsonl')).not.toThrow();
    expect(() => checkMaxDeletes(0, 0, 's3://b/p/', 'runs/x/deletes.jsonl')).not.toThrow();
  });

  it('fails with TooManyDeletes, saying how many, the cap, where the list is and what to check', () => {
    let caught: unknown;
    try {
      checkMaxDeletes(1001, 1000, 's3://my-bucket/mur/', 's3://staging/runs/x/deletes.jsonl');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TransferError);
    expect((caught as Error).name).toBe('TooManyDeletes');
    expect((caught as Error).message).toBe(
      'this run would delete 1001 objects under s3://my-bucket/mur/, more than Options.MaxDeletes (1000), so ' +
        'it stopped before deleting anything. Their list is in s3://staging/runs/x/deletes.jsonl. If that is ' +
        'what you want, raise MaxDeletes; if not, check Source and Dest.Prefix (DryRun lists what a run ' +
        'would delete)',
    );
    expect(() => checkMaxDeletes(1, 0, 's3://b/', 'f')).toThrow(/would delete 1 objects/);
  });
});
