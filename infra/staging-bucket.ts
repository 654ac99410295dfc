import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { deletedKey, RUNS_PREFIX, TOKENS_PREFIX, UPLOADS_FOLDER } from '../shared/run-files';
import { acknowledgeWildcardResources } from './nag-acknowledgments';

/** The roles that touch staged tokens, each with the one thing it may do. */
export interface TokenCustodians {
  /** Plan: writes a run's token (and encrypts it). */
  readonly writer: iam.IRole;
  /** CopyBatch: reads a run's token (and decrypts it). */
  readonly reader: iam.IRole;
  /** Summarize and the cleanup: delete a run's token when the run ends. */
  readonly deleters: readonly iam.IRole[];
}

/** KMS actions that administer a key without using it. */
const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];

/**
 * The staging bucket and every grant on it. Each run keeps its files under `runs/<execution name>/`
 * (manifest.jsonl, the map results, report.json) and, when the event held its token, the token under
 * `tokens/<execution name>` (see shared/run-files.ts). Which role may do what with them is decided here
 * and nowhere else. Not a construct of its own: the bucket stays a direct child of `scope`, so that its
 * logical id (and a deployed pipeline's bucket) does not change.
 *
 * Staged tokens have a custody of their own: a KMS key that only Plan may encrypt with and only CopyBatch
 * may decrypt with, a bucket policy that denies reading them to every other principal, and a 1-day
 * expiry behind the cleanup that deletes them when their run ends.
 */
export class StagingBucket {
  readonly bucket: s3.Bucket;
  /** Encrypts staged tokens (SSE-KMS). */
  readonly tokenKey: kms.Key;
  private readonly scope: Construct;

  constructor(scope: Construct, id: string) {
    this.scope = scope;
    this.bucket = new s3.Bucket(scope, id, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Manifests and reports must not vanish with a stack update; they expire anyway.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'ExpireRunFiles',
          prefix: RUNS_PREFIX,
          expiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'ExpireStagedTokens',
          prefix: TOKENS_PREFIX,
          // A backstop: the cleanup deletes a token as soon as its run ends.
          expiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    this.tokenKey = new kms.Key(scope, `${id}TokenKey`, {
      description: 's3-direct-transfer: staged tokens (Plan encrypts, CopyBatch decrypts)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
      // The account may administer the key, not use it: use is granted to one role each, below.
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AdministerKey',
            principals: [new iam.AccountRootPrincipal()],
            actions: KEY_ADMIN_ACTIONS,
            resources: ['*'],
          }),
        ],
      }),
    });
  }

  /** Every run's files, as an IAM resource. */
  get runFilesArn(): string {
    return this.bucket.arnForObjects(`${RUNS_PREFIX}*`);
  }

  /** Every staged token, as an IAM resource. */
  get tokensArn(): string {
    return this.bucket.arnForObjects(`${TOKENS_PREFIX}*`);
  }

  /**
   * Plan: writes the run's manifest and, for a Sync plan, its lists of skipped objects and of deletions
   * (removing them again if the plan fails), and its staged token.
   */
  grantPlan(role: iam.IRole): void {
    const removable = ['manifest.jsonl', 'skipped.jsonl', 'deletes.jsonl'].map((name) =>
      this.bucket.arnForObjects(`${RUNS_PREFIX}*/${name}`),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteRunFiles',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.runFilesArn, this.tokensArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RemoveFailedManifests',
        actions: ['s3:DeleteObject'],
        resources: removable,
      }),
    );
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn, this.tokensArn, ...removable],
      "Plan writes each run's files under runs/<execution name>/ and its token as tokens/<execution name>, " +
        'named at run time; it may delete only a manifest or a Sync plan list, which it does when its plan fails.',
    );
  }

  /** CopyBatch: reads staged tokens, and no other staging object. */
  grantReadStagedTokens(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadStagedTokens',
        actions: ['s3:GetObject'],
        resources: [this.tokensArn],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [this.tokensArn],
      'CopyBatch reads the staged token of the run it serves (tokens/<execution name>) and no other ' +
        'staging object.',
    );
  }

  /**
   * The copy function's giant objects: reads a run's giants list, upload records and map results
   * (CompleteGiants looks up why a range failed), writes upload records and results.
   */
  grantGiantUploads(role: iam.IRole): void {
    const uploads = this.bucket.arnForObjects(`${RUNS_PREFIX}*/${UPLOADS_FOLDER}*`);
    const deletions = this.bucket.arnForObjects(deletedKey('*'));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRunFiles',
        actions: ['s3:GetObject'],
        resources: [this.runFilesArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteUploadRecords',
        actions: ['s3:PutObject'],
        // And how a mirror's deletions ended (DeleteMirrored).
        resources: [uploads, deletions],
      }),
    );
    this.grantListRunFiles(role);
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn, uploads, deletions],
      "The copy function reads a run's giants list, upload records and map results, and records giant " +
        "objects' uploads and results and a mirror's deletions, all under runs/<execution name>/, known at run time.",
    );
  }

  /** Summarize: reads the manifest and map results, writes the report, deletes the staged token. */
  grantSummarize(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteRunFiles',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.runFilesArn],
      }),
    );
    this.grantListRunFiles(role);
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn],
      "Summarize reads a run's manifest and map results and writes its report, all under " +
        'runs/<execution name>/, known at run time.',
    );
    this.grantDeleteStagedTokens(role);
  }

  /** List the run files (Map Run result manifests are found by listing). */
  private grantListRunFiles(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListRunFiles',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] } },
      }),
    );
  }

  /** Summarize and the cleanup: delete staged tokens (never read them). */
  grantDeleteStagedTokens(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteStagedTokens',
        actions: ['s3:DeleteObject'],
        resources: [this.tokensArn],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [this.tokensArn],
      'Deletes the staged token of a run that ended (tokens/<execution name>), named at run time.',
    );
  }

  /**
   * The token custody, once every role exists: only the writer may put tokens, encrypted with the token
   * key; only the reader may get them; the key encrypts for the writer and decrypts for the reader alone.
   */
  protectTokens(custodians: TokenCustodians): void {
    const { writer, reader } = custodians;
    const everyoneElse = (role: iam.IRole) => ({ ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } });
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyCopyBatchReadsStagedTokens',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.tokensArn],
        conditions: everyoneElse(reader),
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyPlanWritesStagedTokens',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.tokensArn],
        conditions: everyoneElse(writer),
      }),
    );
    // Two statements: conditions within one are ANDed, and either one alone must deny.
    const KEY_HEADER = 's3:x-amz-server-side-encryption-aws-kms-key-id';
    for (const [sid, conditions] of [
      ['StagedTokensNameTheTokenKey', { Null: { [KEY_HEADER]: 'true' } }],
      ['StagedTokensUseTheTokenKey', { StringNotEquals: { [KEY_HEADER]: this.tokenKey.keyArn } }],
    ] as const) {
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:PutObject'],
          resources: [this.tokensArn],
          conditions,
        }),
      );
    }
    // Only S3, on behalf of a request for a staged token, may use the key.
    const viaS3 = {
      StringEquals: { 'kms:ViaService': `s3.${Stack.of(this.scope).region}.amazonaws.com` },
      StringLike: { 'kms:EncryptionContext:aws:s3:arn': this.tokensArn },
    };
    this.tokenKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PlanEncryptsStagedTokens',
        principals: [writer],
        actions: ['kms:GenerateDataKey', 'kms:Encrypt'],
        resources: ['*'],
        conditions: viaS3,
      }),
    );
    this.tokenKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CopyBatchDecryptsStagedTokens',
        principals: [reader],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: viaS3,
      }),
    );
    this.tokenKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NobodyElseDecrypts',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:ReEncrypt*'],
        resources: ['*'],
        conditions: everyoneElse(reader),
      }),
    );
  }

  /** The Distributed Map's ItemReader (under the state machine's role): reads the manifests. */
  manifestReaderStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`${RUNS_PREFIX}*/manifest.jsonl`)],
      }),
    ];
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

  /** Acknowledges the state machine role's wildcards on run files (granted by the two above). */
  acknowledgeMapAccess(role: iam.IRole): void {
    acknowledgeWildcardResources(
      role,
      [this.runFilesArn, this.bucket.arnForObjects(`${RUNS_PREFIX}*/manifest.jsonl`)],
      "The Distributed Map's ItemReader reads each run's manifest and its ResultWriter writes the run's " +
        'results, under runs/<execution name>/, known at run time.',
    );
  }
}
