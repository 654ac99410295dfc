/** PrepareGiants, before the Map: one multipart upload per giant object, recorded for its ranges. */
import {
  CreateMultipartUploadCommand,
  type ChecksumAlgorithm as SdkChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { isWithin } from '../../shared/aws/s3-names';
import { isCombinable, type ChecksumAlgorithm } from '../../shared/checksums';
import { SourceReader, toTransferError } from '../../shared/copy';
import {
  COPY_DEFAULTS,
  destinationHeaders,
  headDestination,
  SOURCE_ETAG_METADATA,
} from '../../shared/copy/copy-object';
import { defaultSleep } from '../../shared/copy/source-reader';
import { stripQuotes } from '../../shared/copy/verify';
import { ErrorName, TransferError, isTransferError } from '../../shared/errors';
import { AlreadyExistsError } from '../../shared/staging';
import type { SourceSide } from './copy-batch';
import { SYSTEMIC_ERRORS } from './unit-rules';
import { readUploadRecord, writeUploadRecord, type UploadRecord } from './upload-record';
import {
  abortUpload,
  checkGiantsInput,
  throughGiants,
  type GiantsDeps,
  type GiantsStepOutput,
  type PrepareGiantsInput,
} from './giants';

/** The checksum the upload's parts carry: the source's full-object CRC's algorithm when it has one. */
function uploadChecksum(
  checksum: { algorithm: ChecksumAlgorithm; value: string; type?: string } | undefined,
): {
  algorithm: ChecksumAlgorithm;
  source?: { Algorithm: ChecksumAlgorithm; Value: string };
} {
  if (
    checksum &&
    checksum.type !== 'COMPOSITE' &&
    !checksum.value.includes('-') &&
    isCombinable(checksum.algorithm)
  ) {
    return {
      algorithm: checksum.algorithm,
      source: { Algorithm: checksum.algorithm, Value: checksum.value },
    };
  }
  return { algorithm: COPY_DEFAULTS.checksumAlgorithm as ChecksumAlgorithm };
}

/** PrepareGiants: one multipart upload per giant object, recorded for its ranges. */
export async function prepareGiants(input: PrepareGiantsInput, deps: GiantsDeps): Promise<GiantsStepOutput> {
  checkGiantsInput(input, deps.staging);
  const batch = input.BatchInput;
  const runId = batch.RunId;
  let source: SourceSide | undefined;
  const log = deps.logger;

  return throughGiants(deps, input.Giants!.Key, async (giant) => {
    if (await readUploadRecord(deps.staging, runId, giant.Giant)) return false;
    const base = {
      ...giant,
      ChecksumAlgorithm: COPY_DEFAULTS.checksumAlgorithm as ChecksumAlgorithm,
      FullObject: false,
    };
    const record = async (fields: Partial<UploadRecord>): Promise<void> => {
      try {
        await writeUploadRecord(deps.staging, runId, { ...base, ...fields });
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
        // Another attempt recorded it first: its upload is the one; ours must not linger.
        if (fields.UploadId) await abortUpload(deps.destination, batch, giant, fields.UploadId);
      }
    };
    if (!isWithin(batch.DestBucket, giant.DestKey, deps.allowedDestinations)) {
      await record({
        Error: ErrorName.DestinationAccessDenied,
        Cause: `this deployment may not write s3://${batch.DestBucket}/${giant.DestKey}`,
      });
      return true;
    }
    source ??= await deps.source(batch);
    const sourceBucket = giant.Bucket ?? batch.SourceBucket;
    const reader = new SourceReader(source.client, source.credentials, sourceBucket, giant.Key, {
      maxResumes: COPY_DEFAULTS.maxResumes,
      maxRefreshes: COPY_DEFAULTS.maxRefreshes,
      backoffBaseMs: COPY_DEFAULTS.backoffBaseMs,
      backoffMaxMs: COPY_DEFAULTS.backoffMaxMs,
      sleep: defaultSleep,
      now: Date.now,
      random: Math.random,
    });
    try {
      const object = await reader.describe(giant.ETag);
      if (object.size !== giant.Size) {
        throw new TransferError(
          ErrorName.SourceChanged,
          `s3://${sourceBucket}/${giant.Key} is ${object.size} bytes, not the ${giant.Size} listed`,
        );
      }
      if (batch.Sync) {
        const existing = await headDestination(deps.destination, batch.DestBucket, giant.DestKey);
        const recorded = stripQuotes(existing?.Metadata?.[SOURCE_ETAG_METADATA]);
        if (existing && existing.ContentLength === giant.Size && recorded === giant.ETag) {
          await record({ Skipped: true });
          return true;
        }
      }
      const checksum = uploadChecksum(object.checksum);
      let uploadId: string | undefined;
      try {
        const created = await deps.destination.send(
          new CreateMultipartUploadCommand({
            Bucket: batch.DestBucket,
            Key: giant.DestKey,
            ...destinationHeaders(object),
            ChecksumAlgorithm: checksum.algorithm as SdkChecksumAlgorithm,
            ...(checksum.source && { ChecksumType: 'FULL_OBJECT' }),
          }),
        );
        uploadId = created.UploadId;
      } catch (error) {
        throw toTransferError(error, {
          side: 'destination',
          bucket: batch.DestBucket,
          key: giant.DestKey,
          operation: 'CreateMultipartUpload',
        });
      }
      if (!uploadId)
        throw new TransferError(ErrorName.CopyFailed, 'CreateMultipartUpload answered no UploadId');
      try {
        await record({
          UploadId: uploadId,
          ChecksumAlgorithm: checksum.algorithm,
          FullObject: checksum.source !== undefined,
          ...(checksum.source && { SourceChecksum: checksum.source }),
        });
      } catch (error) {
        await abortUpload(deps.destination, batch, giant, uploadId);
        throw error;
      }
      log?.info('giant prepared', {
        destKey: giant.DestKey,
        giant: giant.Giant,
        parts: giant.Parts,
        ranges: giant.Ranges,
      });
      return true;
    } catch (error) {
      if (isTransferError(error) && !SYSTEMIC_ERRORS.has((error as Error).name)) {
        await record({ Error: (error as Error).name, Cause: (error as Error).message });
        log?.warn('giant not prepared', { destKey: giant.DestKey, error: (error as Error).name });
        return true;
      }
      throw error;
    }
  });
}
