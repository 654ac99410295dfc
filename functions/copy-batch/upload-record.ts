/**
 * The record of a giant object's multipart upload, `runs/<run id>/uploads/<giant>.json`: written once by
 * PrepareGiants (exclusively: a retry never creates a second upload for the same object), read by every
 * range unit of the object and by CompleteGiants. Its result, once CompleteGiants has decided it, sits
 * beside it in `<giant>.result.json`, where Summarize reads it.
 */
import type { ChecksumAlgorithm } from '../../shared/checksums';
import type { GiantObject, ItemResult } from '../../shared/contracts';
import { giantResultKey, uploadRecordKey } from '../../shared/run-files';
import type { StagingStore } from '../../shared/staging';

export interface UploadRecord extends GiantObject {
  /** Absent when the object needs no upload: Sync found it up to date, or preparing it failed. */
  UploadId?: string;
  /** The algorithm every part carries. */
  ChecksumAlgorithm: ChecksumAlgorithm;
  /** The upload was created with ChecksumType FULL_OBJECT: S3 checks the whole object at completion. */
  FullObject: boolean;
  /** The source's full-object checksum (a CRC), which the parts' combined checksum must equal. */
  SourceChecksum?: { Algorithm: ChecksumAlgorithm; Value: string };
  /** Sync: the destination already holds this object. */
  Skipped?: boolean;
  /** Why the object could not be prepared (its ranges then do nothing; CompleteGiants reports it). */
  Error?: string;
  Cause?: string;
}

export async function readUploadRecord(
  staging: StagingStore,
  runId: string,
  giant: number,
): Promise<UploadRecord | undefined> {
  const text = await staging.getText(uploadRecordKey(runId, giant));
  return text === undefined ? undefined : (JSON.parse(text) as UploadRecord);
}

/** Writes a record once; throws AlreadyExistsError when it exists (a concurrent or earlier attempt). */
export async function writeUploadRecord(
  staging: StagingStore,
  runId: string,
  record: UploadRecord,
): Promise<void> {
  await staging.put(uploadRecordKey(runId, record.Giant), JSON.stringify(record), {
    contentType: 'application/json',
    exclusive: true,
  });
}

export async function readGiantResult(
  staging: StagingStore,
  runId: string,
  giant: number,
): Promise<ItemResult | undefined> {
  const text = await staging.getText(giantResultKey(runId, giant));
  return text === undefined ? undefined : (JSON.parse(text) as ItemResult);
}

export async function writeGiantResult(
  staging: StagingStore,
  runId: string,
  giant: number,
  result: ItemResult,
): Promise<void> {
  await staging.put(giantResultKey(runId, giant), JSON.stringify(result), {
    contentType: 'application/json',
  });
}

/** Upload records, cached: a record never changes once written, and a container runs many ranges. */
export class UploadRecordCache {
  private readonly records = new Map<string, Promise<UploadRecord | undefined>>();

  constructor(
    private readonly staging: (bucket: string) => StagingStore,
    private readonly bucket: string,
  ) {}

  get(runId: string, giant: number): Promise<UploadRecord | undefined> {
    const key = `${runId}\u0000${giant}`;
    let record = this.records.get(key);
    if (!record) {
      record = readUploadRecord(this.staging(this.bucket), runId, giant);
      // A missing record may appear later (a redrive after PrepareGiants ran again): not cached.
      record.then(
        (r) => r === undefined && this.records.delete(key),
        () => this.records.delete(key),
      );
      if (this.records.size > 1000) this.records.clear();
      this.records.set(key, record);
    }
    return record;
  }
}
