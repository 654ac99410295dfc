import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { AlreadyExistsError, FolderStagingStore, S3StagingStore } from '../../shared/staging';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'staging-test-'));
});
afterEach(async () => rm(root, { recursive: true, force: true }));

describe('FolderStagingStore', () => {
  it('makes owner-only folders and files, whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      const store = new FolderStagingStore(join(root, 'staging'));
      await store.put('tokens/run-1', 'secret-token-value');
      expect((await stat(join(root, 'staging', 'tokens'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(root, 'staging', 'tokens', 'run-1'))).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('writes exclusively when asked: an existing file is never replaced', async () => {
    const store = new FolderStagingStore(root);
    await store.put('tokens/run-1', 'first', { exclusive: true });
    await expect(store.put('tokens/run-1', 'second', { exclusive: true })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    expect(await store.getText('tokens/run-1')).toBe('first');
  });

  it('never writes through a symbolic link, to a file or to a folder', async () => {
    const store = new FolderStagingStore(root);
    const elsewhere = join(root, '..', `elsewhere-${Date.now()}`);
    await mkdir(elsewhere);
    try {
      await writeFile(join(elsewhere, 'target'), 'untouched');
      await mkdir(join(root, 'tokens'), { recursive: true });
      await symlink(join(elsewhere, 'target'), join(root, 'tokens', 'run-1'));
      await expect(store.put('tokens/run-1', 'token')).rejects.toThrow();
      await symlink(elsewhere, join(root, 'runs'));
      await expect(store.put('runs/run-2/manifest.jsonl', 'x')).rejects.toThrow(/symbolic link/);
      expect(await readFile(join(elsewhere, 'target'), 'utf8')).toBe('untouched');
      expect((await lstat(join(elsewhere))).isDirectory()).toBe(true);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses a key that escapes the folder', async () => {
    await expect(new FolderStagingStore(root).put('../outside', 'x')).rejects.toThrow(/escapes/);
  });
});

describe('S3StagingStore', () => {
  const s3Mock = mockClient(S3Client);
  beforeEach(() => s3Mock.reset());

  it('sends If-None-Match and the KMS key when asked, and names an existing object AlreadyExistsError', async () => {
    s3Mock
      .on(PutObjectCommand)
      .resolvesOnce({})
      .rejects(
        Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
          name: 'PreconditionFailed',
          $metadata: { httpStatusCode: 412 },
        }),
      );
    const store = new S3StagingStore(new S3Client({ region: 'us-west-2' }), 'staging');
    await store.put('tokens/run-1', 'token', { exclusive: true, kmsKeyId: 'arn:aws:kms:us-west-2:1:key/k' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({
      Bucket: 'staging',
      Key: 'tokens/run-1',
      IfNoneMatch: '*',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-west-2:1:key/k',
    });
    await expect(store.put('tokens/run-1', 'again', { exclusive: true })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
  });
});
