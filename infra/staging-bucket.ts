import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { RUNS_PREFIX, STAGED_TOKEN_PATTERN } from '../shared/run-files';
import { acknowledgeWildcardResources } from './nag-acknowledgments';

/**
 * The staging bucket and every grant on it. Each run keeps its files under `runs/<execution name>/`
 * (manifest.jsonl, token, the map results, report.json; see shared/run-files.ts); which role may do what
 * with them is decided here and nowhere else. Not a construct of its own: the bucket stays a direct
 * child of `scope`, so that its logical id (and a deployed pipeline's bucket) does not change.
 */
export class StagingBucket {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    this.bucket = new s3.Bucket(scope, id, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Staged tokens, manifests and reports must not vanish with a stack update; they expire anyway.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'ExpireRunFiles',
          expiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  /** Every run's files, as an IAM resource. */
  get runFilesArn(): string {
    return this.bucket.arnForObjects(`${RUNS_PREFIX}*`);
  }

  /** Plan: writes the run's manifest and staged token. */
  grantWriteRunFiles(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteRunFiles',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.runFilesArn],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn],
      "Plan writes each run's files (manifest, staged token) under runs/<execution name>/, known at run time.",
    );
  }

  /** CopyBatch: reads the staged token of the run it serves, and no other staging object. */
  grantReadStagedTokens(role: iam.IRole): void {
    const tokens = this.bucket.arnForObjects(STAGED_TOKEN_PATTERN);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadStagedTokens', actions: ['s3:GetObject'], resources: [tokens] }),
    );
    acknowledgeWildcardResources(
      role,
      [tokens],
      'CopyBatch reads the staged token of the run it serves (runs/<execution name>/token) and no other ' +
        'staging object.',
    );
  }

  /** Summarize: reads the manifest and map results, writes the report, deletes the staged token. */
  grantSummarize(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteRunFiles',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        resources: [this.runFilesArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListRunFiles',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] } },
      }),
    );
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn],
      "Summarize reads a run's manifest and map results, writes its report and deletes its staged token, " +
        'all under runs/<execution name>/, known at run time.',
    );
  }

  /** The Distributed Map's ItemReader (under the state machine's role): reads the manifests. */
  manifestReaderStatements(): iam.PolicyStatement[] {
    return [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.runFilesArn] })];
  }

  /** The Distributed Map's ResultWriter (under the state machine's role): writes the map results. */
  resultWriterStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [this.runFilesArn],
      }),
    ];
  }

  /** Acknowledges the state machine role's wildcard on run files (granted by the two above). */
  acknowledgeMapAccess(role: iam.IRole): void {
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn],
      "The Distributed Map's ItemReader reads each run's manifest and its ResultWriter writes the run's " +
        'results, under runs/<execution name>/, known at run time.',
    );
  }
}
