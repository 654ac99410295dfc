import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import mallocTuning from '../../shared/copy/malloc-tuning.json';
import { ErrorName } from '../../shared/errors';
import { acknowledgeWildcardResources } from '../nag-acknowledgments';
import { PipelineFunction } from '../pipeline-function';
import type { StagingBucket } from '../staging-bucket';
import { grantTokenParameterRead, retryLambdaServiceErrors } from './common';

/** A bucket CopyBatch may write, optionally only under a key prefix. */
export interface Destination {
  readonly bucket: s3.IBucket;
  readonly prefix?: string;
}

export interface CopyObjectsStepProps {
  readonly staging: StagingBucket;
  readonly destinations: readonly Destination[];
  readonly tokenParameterPath: string;
  readonly maxConcurrency: number;
  readonly itemsPerBatch: number;
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
}

/**
 * Bytes of manifest lines per batch. A child's input (items + BatchInput) and its output (a result per
 * item, which repeats the keys and may add an error) must each stay under 256 KiB.
 */
export const MAX_INPUT_BYTES_PER_BATCH = 100_000;

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
 * `CopyObjects`: a Distributed Map over the manifest, in batches; each child runs `CopyBatch` and feeds
 * the objects it deferred (near its deadline) back into it until none remain. Its ResultWriter output is
 * what Summarize reads.
 */
export class CopyObjectsStep extends Construct {
  readonly function: PipelineFunction;
  readonly map: sfn.DistributedMap;

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
    props.staging.grantReadStagedTokens(this.function.role);
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

    // The ItemBatcher nests BatchInput: PrepareBatch lifts it into the shape CopyBatch takes.
    const prepare = new sfn.Pass(this, 'PrepareBatch', {
      stateName: 'PrepareBatch',
      comment: '{ Items, BatchInput: { Transfer } } -> { Items, BatchInput }',
      parameters: {
        Items: sfn.JsonPath.listAt('$.Items'),
        BatchInput: sfn.JsonPath.objectAt('$.BatchInput.Transfer'),
      },
    });
    const copyBatch = new tasks.LambdaInvoke(this, 'CopyBatch', {
      stateName: 'CopyBatch',
      comment: 'Copy the batch; objects not started before the deadline come back in Deferred',
      lambdaFunction: this.function.function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    retryLambdaServiceErrors(copyBatch, 8);
    copyBatch.addRetry({
      errors: [ErrorName.CredentialsEndpointError, ErrorName.TransientError],
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 4,
      maxDelay: Duration.minutes(2),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const carry = new sfn.Pass(this, 'CarryDeferred', {
      stateName: 'CarryDeferred',
      comment: 'Run the deferred objects, carrying the results so far',
      parameters: {
        Items: sfn.JsonPath.listAt('$.Deferred'),
        BatchInput: sfn.JsonPath.objectAt('$.BatchInput'),
        Results: sfn.JsonPath.listAt('$.Results'),
      },
    });
    const moreDeferred = new sfn.Choice(this, 'MoreDeferred', { stateName: 'MoreDeferred' })
      .when(sfn.Condition.isPresent('$.Deferred[0]'), carry.next(copyBatch))
      .otherwise(new sfn.Succeed(this, 'BatchDone', { stateName: 'BatchDone' }));

    this.map = new sfn.DistributedMap(this, 'CopyObjects', {
      stateName: 'CopyObjects',
      comment: 'Copy the manifest in batches of child executions',
      label: COPY_OBJECTS_LABEL,
      itemReader: new ManifestReader(props.staging),
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatch: props.itemsPerBatch,
        maxInputBytesPerBatch: MAX_INPUT_BYTES_PER_BATCH,
        batchInput: { 'Transfer.$': '$.Plan.BatchInput' },
      }),
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: props.toleratedFailurePercentage,
      resultWriterV2: new RunResultWriter(props.staging),
      resultPath: '$.Map',
      // Express children stop at 5 minutes; CopyBatch may run 15.
      mapExecutionType: sfn.StateMachineType.STANDARD,
    });
    this.map.itemProcessor(prepare.next(copyBatch).next(moreDeferred));
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
    const whole = destinations.filter((d) => !d.prefix);
    if (whole.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ListDestinations',
          actions: ['s3:ListBucket'],
          resources: whole.map((d) => d.bucket.bucketArn),
        }),
      );
    }
    destinations
      .filter((d) => d.prefix)
      .forEach((d, i) =>
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: `ListDestinationPrefix${i}`,
            actions: ['s3:ListBucket'],
            resources: [d.bucket.bucketArn],
            conditions: { StringLike: { 's3:prefix': [`${d.prefix}*`] } },
          }),
        ),
      );
  }
}
