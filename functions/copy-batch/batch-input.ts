/**
 * What the copy function accepts, checked before anything reads a token: whoever may invoke it directly
 * must not make it read another run's token, send a token to an endpoint off the allowlist, or pass
 * malformed units.
 */
import type { BatchInput, CopyBatchInput, ManifestItem, WorkUnit } from '../../shared/contracts';
import { bucketNameProblem } from '../../shared/aws/s3-names';
import type { PublishedChecksum } from '../../shared/cmr/types';
import { checkEndpoint } from '../../shared/credentials/endpoint';
import { invalidInput } from '../../shared/errors';
import { stagedTokenKey } from '../../shared/run-files';
import { unitObjects } from '../../shared/units';
import type { CopyBatchDeps } from './copy-batch';

const PUBLISHED_HEX: Readonly<Record<string, number>> = {
  MD5: 32,
  'SHA-1': 40,
  'SHA-256': 64,
  'SHA-512': 128,
};

/** An item's published checksum, as Plan wrote it (lower-case hex of the algorithm's length). */
export function publishedOf(item: ManifestItem): PublishedChecksum | undefined {
  const c = item.Checksum;
  if (c === undefined) return undefined;
  const length = typeof c === 'object' && c !== null ? PUBLISHED_HEX[c.Algorithm] : undefined;
  if (
    length === undefined ||
    typeof c.Value !== 'string' ||
    !new RegExp(`^[0-9a-f]{${length}}$`).test(c.Value)
  ) {
    throw invalidInput(
      'CopyBatch input: an object Checksum must be {Value: lower-case hex, Algorithm: MD5, SHA-1, SHA-256 or SHA-512}',
    );
  }
  return { algorithm: c.Algorithm, value: c.Value };
}

/**
 * Whoever may invoke this function directly must not make it read another run's token, or any token
 * the state machine would not have given it: a staged token is the batch's own run's, in the staging
 * bucket; a parameter is under the deployment's token path.
 */
function checkTokenReference(batch: BatchInput, allowed: CopyBatchDeps['tokens']): void {
  const token = batch.Token;
  if (token.Kind === 'staged') {
    if (token.Bucket !== allowed.stagingBucket || token.Key !== stagedTokenKey(batch.RunId)) {
      throw invalidInput("CopyBatch input: BatchInput.Token: a staged token must be its own run's");
    }
    return;
  }
  if (token.Kind === 'bearer-parameter') {
    if (
      typeof token.Parameter !== 'string' ||
      (allowed.parameterPath && !token.Parameter.startsWith(allowed.parameterPath))
    ) {
      throw invalidInput(
        `CopyBatch input: BatchInput.Token: parameters must be under ${allowed.parameterPath}`,
      );
    }
    return;
  }
  throw invalidInput('CopyBatch input: BatchInput.Token: expected a staged token or a parameter');
}

/** The unit of an input: `Unit`, or the `Items` of earlier versions as a pack. */
export function unitOf(input: CopyBatchInput): WorkUnit {
  if (input.Unit !== undefined) {
    const unit = input.Unit as unknown;
    if (typeof unit !== 'object' || unit === null || Array.isArray(unit)) {
      throw invalidInput('CopyBatch input: Unit must be an object');
    }
    if ('Pack' in unit && !Array.isArray((unit as { Pack: unknown }).Pack)) {
      throw invalidInput('CopyBatch input: Unit.Pack must be a list');
    }
    return input.Unit;
  }
  if (!Array.isArray(input.Items)) throw invalidInput('CopyBatch input: expected Unit (or a list of Items)');
  return { Pack: input.Items };
}

/**
 * What any input of the copy function must carry, checked before anything reads the token: the run's
 * fields, an endpoint on the allowlist, and a token reference of its own run.
 */
export function checkBatchInput(
  batch: Partial<BatchInput> | undefined,
  deps: Pick<CopyBatchDeps, 'endpoints' | 'tokens'>,
): asserts batch is BatchInput {
  if (typeof batch !== 'object' || batch === null)
    throw invalidInput('CopyBatch input: BatchInput is required');
  for (const field of ['CredentialsEndpoint', 'SourceBucket', 'DestBucket', 'RunId'] as const) {
    if (typeof batch[field] !== 'string' || batch[field] === '') {
      throw invalidInput(`CopyBatch input: BatchInput.${field} must be a non-empty string`);
    }
  }
  if (typeof batch.Token !== 'object' || batch.Token === null) {
    throw invalidInput('CopyBatch input: BatchInput.Token is required');
  }
  checkEndpoint(batch.CredentialsEndpoint!, deps.endpoints, 'BatchInput.CredentialsEndpoint');
  checkTokenReference(batch as BatchInput, deps.tokens);
}

export function checkInput(input: CopyBatchInput, deps: CopyBatchDeps): void {
  if (typeof input !== 'object' || input === null) throw invalidInput('CopyBatch input: expected an object');
  checkBatchInput(input.BatchInput, deps);
  if (input.Results !== undefined && !Array.isArray(input.Results)) {
    throw invalidInput('CopyBatch input: Results must be a list');
  }
  if (input.Stalled !== undefined && !(Number.isInteger(input.Stalled) && input.Stalled >= 0)) {
    throw invalidInput('CopyBatch input: Stalled must be a whole number');
  }
  unitObjects(unitOf(input)).forEach((item, i) => {
    if (typeof item?.Key !== 'string' || typeof item.DestKey !== 'string') {
      throw invalidInput(`CopyBatch input: object ${i} of the unit needs string Key and DestKey`);
    }
    if (item.Bucket !== undefined && (typeof item.Bucket !== 'string' || bucketNameProblem(item.Bucket))) {
      throw invalidInput(`CopyBatch input: object ${i} of the unit has a Bucket that is not a bucket name`);
    }
    publishedOf(item);
  });
}
