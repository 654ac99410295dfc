/** s3rver's FilesystemStore, which owns the on-disk layout, and a file-system helper of the stores. */

/** The subset of s3rver's FilesystemStore used here (s3rver ships no types). */
export interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  putBucket(bucket: string): Promise<unknown>;
  getBucket(bucket: string): Promise<{ name: string; creationDate: Date } | null>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const FilesystemStoreCtor = require('s3rver/lib/stores/filesystem') as new (root: string) => FilesystemStore;

export function filesystemStore(root: string): FilesystemStore {
  return new FilesystemStoreCtor(root);
}

/** The file or directory is not there (or its path cannot exist). */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}
