import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import mallocTuning from '../../shared/copy/malloc-tuning.json';
import { ErrorName } from '../../shared/errors';
import { acknowledgeWildcardResources } from '../nag-acknowledgments';
import { PipelineFunction } from '../pipeline-function';
import type { StagingBucket } from '../staging-bucket';
import {
  grantListDestinations,
  grantTokenParameterRead,
  retryLambdaServiceErrors,
  type Destination,
} from './common';

export type { Destination };

export interface CopyObjectsStepProps {
  readonly staging: StagingBucket;
  readonly destinations: readonly Destination[];
  readonly tokenParameterPath: string;
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** The credentials endpoints a token may be sent to. */
  readonly credentialsEndpoints: readonly string[];
  /** The account that must own every destination bucket (S3 refuses writes to anyone else's). */
  readonly destinationBucketOwner?: string;
  /** KMS keys of SSE-KMS destination buckets the copy role may encrypt with. */
  readonly destinationKmsKeys: readonly string[];
  /** Let the copy role delete in the destinations (a mirror's `Options.Delete`). */
  readonly allowMirrorDeletes: boolean;
}

/** The Distributed Map's label: its child executions' metrics carry `<state machine ARN>/<label>`. */
export const COPY_OBJECTS_LABEL = 'CopyObjects';

/** The manifest Plan wrote, read from the bucket and key in `$.Plan.Manifest`. */
class ManifestReader extends sfn.S3JsonLItemReader {
  constructor(private readonly staging: StagingBucket) {
    super({
      bucketNamePath: sfn.JsonPath.stringAt('$.Plan.Manifest.Bucket'),
      key: sfn.JsonPath.stringAt('$.Plan.Manifest.Key'),
    });
  }

  // The bucket comes from a path, so CDK would grant nothing: the manifests are staging's run files.
  override providePolicyStatements(): iam.PolicyStatement[] {
    return this.staging.manifestReaderStatements();
  }
}

/** Results written under the run's staging prefix: `<Staging.Prefix>/<map run id>/manifest.json` etc. */
class RunResultWriter extends sfn.ResultWriterV2 {
  constructor(private readonly staging: StagingBucket) {
    super({
      bucketNamePath: sfn.JsonPath.stringAt('$.Plan.Staging.Bucket'),
      prefix: sfn.JsonPath.stringAt('$.Plan.Staging.Prefix'),
    });
  }

  // With a bucket path CDK would grant s3:PutObject on "*": only the staging bucket's run files.
  override providePolicyStatements(): iam.PolicyStatement[] {
    return this.staging.resultWriterStatements();
  }
}

/**
 * `CopyObjects`: a Distributed Map over the manifest of units, one child execution per unit (a pack of
 * small objects, one object, or a range of a giant object's parts); each child runs `CopyBatch` and feeds
 * what is left of its unit (near the deadline) back into it until nothing is. Its ResultWriter output is
 * what Summarize reads. Around it, for giant objects, `PrepareGiants` (one multipart upload per object,
 * before the Map) and `CompleteGiants` (after it), run by the same function with the same role.
 */
export class CopyObjectsStep extends Construct {
  readonly function: PipelineFunction;
  readonly map: sfn.DistributedMap;
  /** Creates the giant objects' multipart uploads; loops while objects remain. */
  readonly prepareGiants: tasks.LambdaInvoke;
  readonly morePrepare: sfn.Choice;
  /** Completes (or aborts) them; loops while objects remain. */
  readonly completeGiants: tasks.LambdaInvoke;
  readonly moreComplete: sfn.Choice;
  /** Whether the run deletes (continue it with `.otherwise()`), then whether there is anything to delete. */
  readonly mirrorDeletes: sfn.Choice;
  readonly anyDeletes: sfn.Choice;
  /** Deletes a mirror's planned deletions; its outcome goes to `$.Delete`. */
  readonly deleteMirrored: tasks.LambdaInvoke;

  constructor(scope: Construct, id: string, props: CopyObjectsStepProps) {
    super(scope, id);
    const destinations = props.destinations.map((d) =>
      d.prefix ? `${d.bucket.bucketName}/${d.prefix}` : d.bucket.bucketName,
    );
    this.function = new PipelineFunction(this, 'Lambda', {
      entry: 'functions/copy-batch/handler.ts',
      description: 'CopyBatch: stream a batch of objects from the source into the destination',
      memorySize: props.memorySize,
      timeout: props.timeout,
      logRetention: props.logRetention,
      environment: {
        STAGING_BUCKET: props.staging.bucket.bucketName,
        TOKEN_PARAMETER_PATH: props.tokenParameterPath,
        DESTINATION_BUCKETS: destinations.join(','),
        CREDENTIALS_ENDPOINTS: props.credentialsEndpoints.join(','),
        ...(props.destinationBucketOwner !== undefined && {
          DESTINATION_BUCKET_OWNER: props.destinationBucketOwner,
        }),
        // glibc malloc, read at process start: part buffers come from the heap and are reused instead
        // of being mmap'ed and page-faulted afresh for every part (docs/PERFORMANCE.md).
        ...mallocTuning,
      },
    });
    this.grantDestinations(this.function.role, props.destinations);
    if (props.allowMirrorDeletes && props.destinations.length > 0) {
      // DeleteMirrored removes what a mirror's source no longer has, under the destinations' prefixes.
      this.function.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DeleteMirrored',
          actions: ['s3:DeleteObject'],
          resources: props.destinations.map((d) => d.bucket.arnForObjects(`${d.prefix ?? ''}*`)),
        }),
      );
      acknowledgeWildcardResources(
        this.function.role,
        props.destinations.map((d) => d.bucket.arnForObjects(`${d.prefix ?? ''}*`)),
        "DeleteMirrored deletes the keys Plan listed under the run's mapped prefix, only in the configured " +
          'destination buckets (under their prefixes), at most Options.MaxDeletes per run.',
      );
    }

    props.staging.grantReadStagedTokens(this.function.role);
    props.staging.grantGiantUploads(this.function.role);
    if (props.destinationKmsKeys.length > 0) {
      // Multipart uploads into an SSE-KMS bucket generate a data key and decrypt it for every part.
      this.function.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptDestinations',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [...props.destinationKmsKeys],
          conditions: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
        }),
      );
    }
    grantTokenParameterRead(this, this.function.role, props.tokenParameterPath);

    const copyBatch = this.copyFunctionTask('CopyBatch', {
      comment: 'Copy the unit; what is left near the deadline comes back in Next',
    });
    const carry = new sfn.Pass(this, 'CarryOn', {
      stateName: 'CarryOn',
      comment: 'Run what is left of the unit, carrying the results so far',
      parameters: {
        Unit: sfn.JsonPath.objectAt('$.Next'),
        BatchInput: sfn.JsonPath.objectAt('$.BatchInput'),
        Results: sfn.JsonPath.listAt('$.Results'),
        Stalled: sfn.JsonPath.numberAt('$.Stalled'),
      },
    });
    const moreToDo = new sfn.Choice(this, 'MoreToDo', { stateName: 'MoreToDo' })
      .when(sfn.Condition.isPresent('$.Next'), carry.next(copyBatch))
      .otherwise(new sfn.Succeed(this, 'UnitDone', { stateName: 'UnitDone' }));
    // A unit that fails in a later round keeps the credit of its earlier rounds: the child succeeds
    // with the results so far and the error of the rest (Summarize counts each object once). A unit
    // with nothing to its credit fails, and counts toward the Map's tolerated failures.
    const keepCredit = new sfn.Choice(this, 'KeepCredit', { stateName: 'KeepCredit' })
      .when(
        sfn.Condition.isPresent('$.Results[0]'),
        new sfn.Pass(this, 'CreditKept', {
          stateName: 'CreditKept',
          comment: 'Earlier rounds finished objects: report them, and the error of the rest',
          parameters: {
            Results: sfn.JsonPath.listAt('$.Results'),
            Unfinished: sfn.JsonPath.objectAt('$.Unit'),
            Failure: sfn.JsonPath.objectAt('$.Failure'),
          },
        }),
      )
      .otherwise(
        new sfn.Fail(this, 'UnitFailed', {
          stateName: 'UnitFailed',
          comment: 'The unit failed before anything was finished',
          errorPath: '$.Failure.Error',
          causePath: '$.Failure.Cause',
        }),
      );
    copyBatch.addCatch(keepCredit, { errors: [sfn.Errors.ALL], resultPath: '$.Failure' });

    this.map = new sfn.DistributedMap(this, 'CopyObjects', {
      stateName: 'CopyObjects',
      comment: 'Copy the manifest, one child execution per unit',
      label: COPY_OBJECTS_LABEL,
      itemReader: new ManifestReader(props.staging),
      itemSelector: {
        Unit: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
        BatchInput: sfn.JsonPath.objectAt('$.Plan.BatchInput'),
      },
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      resultWriterV2: new RunResultWriter(props.staging),
      resultPath: '$.Map',
      // Express children stop at 5 minutes; CopyBatch may run 15.
      mapExecutionType: sfn.StateMachineType.STANDARD,
    });
    this.map.itemProcessor(copyBatch.next(moreToDo));

    this.prepareGiants = this.copyFunctionTask('PrepareGiants', {
      comment: 'One multipart upload per giant object, recorded for its ranges',
      payload: sfn.TaskInput.fromObject({
        Action: 'PrepareGiants',
        Giants: sfn.JsonPath.objectAt('$.Plan.Giants'),
        BatchInput: sfn.JsonPath.objectAt('$.Plan.BatchInput'),
      }),
      resultPath: '$.Prepare',
    });
    this.morePrepare = new sfn.Choice(this, 'MoreToPrepare', { stateName: 'MoreToPrepare' });
    this.morePrepare.when(sfn.Condition.numberGreaterThan('$.Prepare.Remaining', 0), this.prepareGiants);

    this.completeGiants = this.copyFunctionTask('CompleteGiants', {
      comment: 'Check, complete (or abort) each giant object, and record how it ended',
      payload: sfn.TaskInput.fromObject({
        Action: 'CompleteGiants',
        Giants: sfn.JsonPath.objectAt('$.Plan.Giants'),
        BatchInput: sfn.JsonPath.objectAt('$.Plan.BatchInput'),
        Staging: sfn.JsonPath.objectAt('$.Plan.Staging'),
        Map: sfn.JsonPath.objectAt('$.Map'),
      }),
      resultPath: '$.Complete',
    });
    this.moreComplete = new sfn.Choice(this, 'MoreToComplete', { stateName: 'MoreToComplete' });
    this.moreComplete.when(sfn.Condition.numberGreaterThan('$.Complete.Remaining', 0), this.completeGiants);

    // A mirror's deletions, after every copy: the whole state goes in (Plan, and Map and Complete when
    // they ran), so that the step can tell whether every object was copied.
    this.deleteMirrored = this.copyFunctionTask('DeleteMirrored', {
      comment: 'Delete what the source no longer has (Options.Delete), only when no object failed',
      payload: sfn.TaskInput.fromObject({ Action: 'DeleteMirrored', Run: sfn.JsonPath.entirePayload }),
      resultPath: '$.Delete',
    });
    const anyDeletes = new sfn.Choice(this, 'AnyDeletes', {
      stateName: 'AnyDeletes',
      comment: 'Deletions were planned (Plan checked them against MaxDeletes)',
    });
    this.mirrorDeletes = new sfn.Choice(this, 'MirrorDeletes', {
      stateName: 'MirrorDeletes',
      comment: 'A Sync run with Options.Delete that is not a dry run',
    });
    this.mirrorDeletes.when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.Plan.Deletes'),
        sfn.Condition.booleanEquals('$.Plan.DryRun', false),
      ),
      anyDeletes,
    );
    this.anyDeletes = anyDeletes;
  }

  /** Lambda service errors, and the run's transient ones (a flaky credentials endpoint, SlowDown). */
  /** A Task state of the copy function (named as its state), with the copy function's retries. */
  private copyFunctionTask(
    stateName: string,
    props: Pick<tasks.LambdaInvokeProps, 'comment' | 'payload' | 'resultPath'>,
  ): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, stateName, {
      stateName,
      lambdaFunction: this.function.function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      ...props,
    });
    this.retryCopyFunction(task);
    return task;
  }

  private retryCopyFunction(task: tasks.LambdaInvoke): void {
    retryLambdaServiceErrors(task, 8);
    task.addRetry({
      errors: [ErrorName.CredentialsEndpointError, ErrorName.TransientError],
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 4,
      maxDelay: Duration.minutes(2),
      jitterStrategy: sfn.JitterType.FULL,
    });
    // An invocation killed at its timeout (it watches its deadline, so a slow network or a stuck
    // connection): units are idempotent (ranges resume from ListParts, giants steps from their records),
    // so it runs again, twice at most, before the unit's Catch decides.
    task.addRetry({
      errors: ['Sandbox.Timedout'],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 2,
    });
  }

  /**
   * Write (and HeadObject, and list for Sync) only the configured destinations, under their prefixes.
   * Multipart upload calls are covered by s3:PutObject.
   */
  private grantDestinations(role: iam.IRole, destinations: readonly Destination[]): void {
    if (destinations.length === 0) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteDestinations',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'],
        resources: destinations.map((d) => d.bucket.arnForObjects(`${d.prefix ?? ''}*`)),
      }),
    );
    acknowledgeWildcardResources(
      role,
      destinations.map((d) => d.bucket.arnForObjects(`${d.prefix ?? ''}*`)),
      'CopyBatch writes objects whose keys come from the plan, only in the configured destination buckets ' +
        '(under their configured prefixes).',
    );
    grantListDestinations(role, destinations, { whole: 'ListDestinations', prefix: 'ListDestinationPrefix' });
  }
}
