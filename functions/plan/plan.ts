import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Logger } from '@aws-lambda-powertools/logger';
import type {
  BatchInput,
  GiantObject,
  ManifestItem,
  PlanOutput,
  TokenReference,
  WorkUnit,
} from '../../shared/contracts';
import {
  checkEndpoint,
  describeEndpoint,
  getRefreshingCredentials,
  resolveTeaAuth,
  type RefreshingCredentials,
  type SessionCredentialsProvider,
  type TeaRequest,
} from '../../shared/credentials';
import type { TeaAuth } from '../../shared/credentials/tea-client';
import { ErrorName, TransferError, invalidInput } from '../../shared/errors';
import { eventAuth, isCollectionEvent, parseAnyEvent } from '../../shared/event';
import { createLogger, registerSecret } from '../../shared/log';
import { giantsKey, isValidRunId, manifestKey, runPrefix } from '../../shared/run-files';
import type { RunPolicy } from '../../shared/run-policy';
import { AlreadyExistsError, type StagingStore } from '../../shared/staging';
import { UnitPacker, unitPolicy, type UnitPolicy } from '../../shared/units';
import { headKey, headKeys, listPrefix, type SourceReader } from './listing';
import {
  cmrTokenOf,
  listCollection,
  resolveCollection,
  type CmrAccess,
  type CollectionListing,
} from './collection-source';
import { JsonlWriter } from '../../shared/jsonl-writer';
import { tokenReference } from './stage-token';
import { SyncPlan, type SyncPlanOutput } from './sync-plan';

export interface PlanDependencies {
  /** Builds the client that reads the source bucket with the TEA credentials. */
  readonly sourceClient: (credentials: SessionCredentialsProvider) => S3Client;
  /**
   * Lists the destination with Plan's own role (`s3:ListBucket`): with `Options.Sync` and a `Prefix`
   * source, the two listings decide which objects need no copy (./sync-plan.ts). Without it, every
   * object goes to the copies, which check the destination one HEAD each (and Delete is refused).
   */
  readonly destinationClient?: S3Client;
  /** Where the manifest (and the staged token) go. */
  readonly staging: StagingStore;
  /** Reads `BearerTokenParameter`. @default a client from the default configuration */
  readonly ssm?: SSMClient;
  /** Names the run's staging folder `runs/<runId>/`: the execution name, or a local run id. */
  readonly runId: string;
  /**
   * The TEA credentials for a request (endpoint, resolved token, app name).
   * @default getRefreshingCredentials (cached per container)
   */
  readonly credentials?: (request: TeaRequest) => RefreshingCredentials;
  /**
   * The SSM path the pipeline's roles may read token parameters under (e.g. `/s3-direct-transfer/`): a
   * `BearerTokenParameter` elsewhere fails at once with a clear message. @default any parameter
   */
  readonly tokenParameterPath?: string;
  /** HeadObjects in flight for a `Keys` source. @default 16 */
  readonly headConcurrency?: number;
  /**
   * Where the token may be sent (checked before it is resolved), and whether it may come inline in the
   * event (a deployed pipeline refuses that by default: an execution's input stays in its history).
   */
  readonly policy: RunPolicy;
  /** KMS key that encrypts staged tokens (a deployed pipeline's own key). @default the store's default */
  readonly tokenKmsKeyId?: string;
  /** @default createLogger('plan') */
  readonly logger?: Logger;
  /** Stops the listing between pages (the one-machine runner's Ctrl-C); the partial manifest is removed. */
  readonly signal?: AbortSignal;
  /** How objects are cut into units (packs, objects, part ranges). @default unitPolicy() */
  readonly units?: UnitPolicy;
  /** How CMR is asked, for `Source.Collection` events (fetch, retries, timeouts). @default CMR's defaults */
  readonly cmr?: CmrAccess;
  /** Granules per CMR page. @default 2000 (CMR's largest) */
  readonly cmrPageSize?: number;
}

export const DEFAULT_HEAD_CONCURRENCY = 16;

const runIdInUse = (runId: string): TransferError =>
  invalidInput(
    `run id ${runId}: the staging store already holds files of a run with this id; every run needs its own ` +
      '(an execution name is never reused within 90 days)',
  );

/**
 * Validates the event, resolves the token, fetches the TEA credentials (a bad token fails here, before
 * anything is listed or written), lists the source into a JSONL manifest streamed to the staging store,
 * stages the token (unless the run is a dry run), and returns what the rest of the state machine needs.
 * Nothing is written for an invalid event or when authentication fails.
 *
 * @throws TransferError `InvalidInput`, `TokenParameterError`, `AuthenticationFailed`, `EulaNotAccepted`,
 *   `CredentialsForbidden`, `CredentialsEndpointError`, `SourceNotFound` (a `Key` source or the bucket),
 *   `SourceAccessDenied`, `TransientError`, `CmrError` (a `Source.Collection` event); with Sync from
 *   both listings also `DestinationAccessDenied` (Plan may not list the destination), `KeyOrderError`
 *   and `TooManyDeletes` (before any deletion).
 */
export async function planTransfer(input: unknown, deps: PlanDependencies): Promise<PlanOutput> {
  const event = parseAnyEvent(input);
  if (!isValidRunId(deps.runId)) {
    throw invalidInput(
      'run id: expected 1-80 characters without "/", "\\", whitespace or control characters',
    );
  }
  const logger = (deps.logger ?? createLogger('plan')).createChild({ persistentKeys: { runId: deps.runId } });
  const auth = eventAuth(event);
  if (auth.kind !== 'bearer-parameter') registerSecret(auth.kind === 'bearer' ? auth.token : auth.jwt);
  // Before anything reads the token: an endpoint off the allowlist never sees it.
  if (event.CredentialsEndpoint !== undefined)
    checkEndpoint(event.CredentialsEndpoint, deps.policy.endpoints);
  if (auth.kind !== 'bearer-parameter' && !deps.policy.allowInlineTokens) {
    throw invalidInput(
      `${auth.kind === 'bearer' ? 'BearerToken' : 'JwtCookie'}: this deployment refuses tokens in the event, ` +
        'which stays in the execution history for 90 days; store the token as an SSM SecureString and name ' +
        'it with BearerTokenParameter (s3-direct-transfer start does this for you)',
    );
  }
  // Before anything is copied: a run whose deletions this deployment may not make would copy, then
  // fail every deletion.
  if (event.Options?.Delete === true && deps.policy.allowMirrorDeletes === false) {
    throw invalidInput(
      'Options.Delete: this deployment does not delete destination objects; deploy it with ' +
        'allowMirrorDeletes (context or construct prop) to mirror deletions',
    );
  }
  const path = deps.tokenParameterPath;
  if (auth.kind === 'bearer-parameter' && path !== undefined && !auth.name.startsWith(path)) {
    throw new TransferError(
      ErrorName.TokenParameterError,
      `BearerTokenParameter ${auth.name} is not under ${path}: the pipeline may read token parameters only ` +
        `under that path (store the token as a SecureString such as ${path}earthdata-token, or deploy with ` +
        'another tokenParameterPath)',
    );
  }
  let resolvedAuth: TeaAuth | undefined;
  const readAuth = async (): Promise<TeaAuth> => (resolvedAuth ??= await resolveTeaAuth(event, deps.ssm));
  // A collection is found, and its credentials endpoint decided, before the token goes to any endpoint
  // (and to CMR only when the collection cannot be found without it).
  const resolved = isCollectionEvent(event)
    ? await resolveCollection(event, deps.policy.endpoints, {
        ...deps.cmr,
        log: logger,
        ...(auth.kind !== 'cookie' && { token: async () => cmrTokenOf(await readAuth()) }),
      })
    : undefined;
  const endpoint = resolved?.endpoint ?? (event.CredentialsEndpoint as string);
  const teaAuth = await readAuth();
  const request: TeaRequest = { endpoint, auth: teaAuth, appName: event.AppName };
  const credentials = (deps.credentials ?? ((r) => getRefreshingCredentials(r, { log: logger })))(request);
  const { Source: source, Dest: dest, Options: options } = event;
  const form =
    'Collection' in source ? 'Collection' : 'Key' in source ? 'Key' : 'Prefix' in source ? 'Prefix' : 'Keys';
  logger.info('planning', {
    endpoint: describeEndpoint(endpoint),
    auth: auth.kind,
    ...('Bucket' in source && { sourceBucket: source.Bucket }),
    ...(resolved && { collection: resolved.collection.conceptId }),
    form,
    destBucket: dest.Bucket,
    sync: options.Sync,
    dryRun: options.DryRun,
  });
  // Up front, so that a bad token fails the run before anything is listed or written.
  await credentials.provider();

  const reader: SourceReader = { client: deps.sourceClient(credentials.provider), credentials, logger };
  const prefix = runPrefix(deps.runId);
  const policy = deps.units ?? unitPolicy();
  let pages: AsyncIterable<ManifestItem[]>;
  let sync: SyncPlan | undefined;
  let synced: SyncPlanOutput = {};
  let collection: CollectionListing | undefined;
  if (resolved && isCollectionEvent(event)) {
    collection = listCollection(reader, event, resolved, {
      policy: deps.policy.endpoints,
      access: deps.cmr ?? {},
      partFanOutBytes: policy.partFanOutBytes,
      headConcurrency: deps.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY,
      pageSize: deps.cmrPageSize,
    });
    pages = collection.pages;
  } else if ('Key' in source) {
    // Checked before the manifest is started: a missing object fails the job with nothing written.
    const item = await headKey(reader, source, dest);
    pages = (async function* () {
      yield [item];
    })();
  } else if ('Prefix' in source && options.Sync && deps.destinationClient) {
    sync = new SyncPlan({
      reader,
      destination: deps.destinationClient,
      source,
      dest,
      options,
      staging: deps.staging,
      runId: deps.runId,
      signal: deps.signal,
    });
    pages = sync.copies();
  } else if ('Prefix' in source) {
    if (options.Delete) {
      throw new Error('Plan: Options.Delete needs a destination client to list the destination with');
    }
    pages = listPrefix(reader, source, dest);
  } else if ('Keys' in source) {
    pages = headKeys(reader, source, dest, deps.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY);
  } else {
    throw invalidInput('Source: expected Key, Prefix, Keys or Collection');
  }

  const manifest = new JsonlWriter<WorkUnit>(deps.staging, manifestKey(deps.runId));
  // Giant objects are listed apart too: PrepareGiants and CompleteGiants work through them.
  let giants: JsonlWriter<GiantObject> | undefined;
  const newGiants: GiantObject[] = [];
  const packer = new UnitPacker(policy, (giant) => newGiants.push(giant));
  let count = 0;
  let bytes = 0;
  /** A collection's files name their own buckets: the first one is the batches' default. */
  let firstBucket: string | undefined;
  let token: TokenReference;
  try {
    for await (const page of pages) {
      deps.signal?.throwIfAborted();
      for (const item of page) {
        count++;
        bytes += item.Size ?? 0;
        firstBucket ??= item.Bucket;
      }
      await manifest.write(packer.add(page));
      if (newGiants.length > 0) {
        giants ??= new JsonlWriter<GiantObject>(deps.staging, giantsKey(deps.runId));
        await giants.write(newGiants.splice(0));
      }
    }
    await manifest.write(packer.flush());
    await manifest.close();
    await giants?.close();
    if (sync) synced = await sync.finish();
    if (count === 0 && !sync) logger.warn('nothing to copy: the source matched no object', { form });
    token = await tokenReference({
      eventAuth: auth,
      teaAuth,
      staging: deps.staging,
      runId: deps.runId,
      stage: !options.DryRun,
      kmsKeyId: deps.tokenKmsKeyId,
    });
  } catch (error) {
    // A manifest that exists already is another run's: it is not ours to remove.
    // So are the files of a Sync plan that exist already (their run's manifest does too).
    if (
      error instanceof AlreadyExistsError &&
      (error.key === manifest.key || sync?.keys.includes(error.key) === true)
    ) {
      throw runIdInUse(deps.runId);
    }
    const reason = error instanceof Error ? error : new Error(String(error));
    await manifest.abort(reason);
    await sync?.abort(reason);
    if (!(error instanceof AlreadyExistsError && error.key === giants?.key)) await giants?.abort(reason);
    if (error instanceof AlreadyExistsError) throw runIdInUse(deps.runId);
    throw error;
  }
  const sourceBucket =
    'Bucket' in source ? source.Bucket : (firstBucket ?? resolved?.collection.s3Buckets[0] ?? '');
  const batchInput: BatchInput = {
    CredentialsEndpoint: endpoint,
    ...(event.AppName !== undefined && { AppName: event.AppName }),
    Token: token,
    SourceBucket: sourceBucket,
    DestBucket: dest.Bucket,
    Sync: options.Sync,
    RunId: deps.runId,
  };
  const output: PlanOutput = {
    Manifest: { Bucket: deps.staging.bucket, Key: manifest.key },
    Count: count,
    Bytes: bytes,
    Units: { ...packer.counts, Lines: manifest.count },
    ...(giants && { Giants: { Bucket: deps.staging.bucket, Key: giants.key } }),
    DryRun: options.DryRun,
    BatchInput: batchInput,
    Staging: { Bucket: deps.staging.bucket, Prefix: prefix },
    ...(collection && { Cmr: collection.summary() }),
    ...synced,
  };
  logger.info('planned', {
    count: output.Count,
    bytes: output.Bytes,
    ...(output.Skipped && { skipped: output.Skipped.Count }),
    ...(output.Deletes && { deletes: output.Deletes.Count }),
    ...(sync?.mergeStats && { merge: sync.mergeStats }),
    units: output.Units,
    tokenKind: token.Kind,
    ...(output.Cmr && { cmr: output.Cmr }),
    manifest: manifest.key,
  });
  return output;
}
