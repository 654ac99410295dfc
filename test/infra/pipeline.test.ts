import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import {
  deepReadable,
  definitionOf,
  readable,
  rename,
  resourcesOfType,
  roleStatements,
  synthesizeStack,
  type Json,
  type ReadableStatement,
} from './helpers';

// One synthesis for the whole file (with cdk-nag): the ready stack with two destinations.
const synth = synthesizeStack(
  { destinationBuckets: [{ bucketName: 'dest-a' }, { bucketName: 'dest-b', prefix: 'earthdata/' }] },
  { nag: true },
);
const definition = synth.error ? {} : definitionOf(synth);
const states = (definition.States ?? {}) as Record<string, Json>;
const copyObjects = (states.CopyObjects ?? {}) as Json;
const child = ((copyObjects.ItemProcessor ?? {}) as Json).States as Record<string, Json>;

const LAMBDA_SERVICE_RETRY = {
  ErrorEquals: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.ClientExecutionTimeoutException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 2,
  BackoffRate: 2,
  MaxDelaySeconds: 60,
  JitterStrategy: 'FULL',
};

describe('synthesis', () => {
  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    expect(synth.error?.message).toBeUndefined();
  });

  it('acknowledges only these findings, each with a reason', () => {
    const acknowledged: [string, string][] = [];
    const visit = (c: IConstruct): void => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledged.push([`${c.node.path} ${rename(id, synth.names)}`, reason]);
        }
      }
      c.node.children.forEach(visit);
    };
    visit(synth.stack);
    for (const [, reason] of acknowledged) expect(reason.length).toBeGreaterThan(40);
    const ids = acknowledged.map(([id]) => id.replace(/^S3DirectTransfer\/Pipeline\//, '')).sort();
    const tokenParameterFindings = (role: string): string[] => [
      `${role} Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]`,
      `${role} Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/s3-direct-transfer/*]`,
    ];
    expect(ids).toEqual(
      [
        'CopyObjectsStep/Lambda/Function Annotation::AwsSolutions-L1',
        'CopyObjectsStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*/uploads/*]',
        'CopyObjectsStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*/deleted.json]',
        'CopyObjectsStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*]',
        'CopyObjectsStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/tokens/*]',
        'CopyObjectsStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::dest-a/*]',
        'CopyObjectsStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::dest-b/earthdata/*]',
        ...tokenParameterFindings('CopyObjectsStep/Lambda/Role'),
        'PlanStep/Lambda/Function Annotation::AwsSolutions-L1',
        'PlanStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*]',
        'PlanStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*/manifest.jsonl]',
        'PlanStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*/skipped.jsonl]',
        'PlanStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*/deletes.jsonl]',
        'PlanStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/tokens/*]',
        'RunCleanup/DeadLetters Annotation::AwsSolutions-SQS3',
        'RunCleanup/Lambda/Function Annotation::AwsSolutions-L1',
        'RunCleanup/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/tokens/*]',
        'RunCleanup/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/s3-direct-transfer/executions/*]',
        ...tokenParameterFindings('PlanStep/Lambda/Role'),
        'StagingBucket Annotation::AwsSolutions-S1',
        'StateMachine/DistributedMapPolicy Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"StateMachine"}]}]}/CopyObjects:*]',
        'StateMachine/DistributedMapPolicy Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"StateMachine"}]}]}:*]',
        'StateMachine/Role Annotation::AwsSolutions-IAM5[Resource::*]',
        'StateMachine/Role Annotation::AwsSolutions-IAM5[Resource::<CopyFunction.Arn>:*]',
        'StateMachine/Role Annotation::AwsSolutions-IAM5[Resource::<PlanFunction.Arn>:*]',
        'StateMachine/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*]',
        'StateMachine/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*/manifest.jsonl]',
        'StateMachine/Role Annotation::AwsSolutions-IAM5[Resource::<SummarizeFunction.Arn>:*]',
        'SummarizeStep/Lambda/Function Annotation::AwsSolutions-L1',
        'SummarizeStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/runs/*]',
        'SummarizeStep/Lambda/Role Annotation::AwsSolutions-IAM5[Resource::<StagingBucket.Arn>/tokens/*]',
      ].sort(),
    );
  });

  it('matches the template snapshot (asset hashes normalized)', () => {
    const text = JSON.stringify(synth.template, null, 1).replace(/[0-9a-f]{64}/g, '<asset-hash>');
    expect(text).not.toContain(process.cwd());
    expect(JSON.parse(text)).toMatchSnapshot();
  });
});

describe('state machine definition (JSONPath)', () => {
  it('is Plan -> NothingToCopy -> [PrepareGiants] -> CopyObjects -> [CompleteGiants] -> [DeleteMirrored] -> Summarize', () => {
    expect(definition.QueryLanguage).toBeUndefined();
    expect(definition.StartAt).toBe('Plan');
    expect(Object.keys(states).sort()).toEqual(
      [
        'AnyDeletes',
        'AnyGiants',
        'CompleteGiants',
        'CopyObjects',
        'DeleteMirrored',
        'DescribePlanError',
        'MirrorDeletes',
        'MoreToComplete',
        'MoreToPrepare',
        'NothingToCopy',
        'Plan',
        'PlanFailed',
        'PrepareGiants',
        'Summarize',
      ].sort(),
    );
    expect(states.Plan.Next).toBe('NothingToCopy');
    expect(states.NothingToCopy).toMatchObject({
      Type: 'Choice',
      Choices: [
        {
          Or: [
            { Variable: '$.Plan.DryRun', BooleanEquals: true },
            { Variable: '$.Plan.Count', NumericEquals: 0 },
          ],
          Next: 'MirrorDeletes',
        },
        { Variable: '$.Plan.Units.Giants', NumericGreaterThan: 0, Next: 'PrepareGiants' },
      ],
      Default: 'CopyObjects',
    });
    expect(states.PrepareGiants).toMatchObject({
      Type: 'Task',
      Resource: '<CopyFunction.Arn>',
      Parameters: {
        Action: 'PrepareGiants',
        'Giants.$': '$.Plan.Giants',
        'BatchInput.$': '$.Plan.BatchInput',
      },
      ResultPath: '$.Prepare',
      Next: 'MoreToPrepare',
      // A failed preparation still completes (aborts) what was prepared, then summarizes.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.Map', Next: 'CompleteGiants' }],
    });
    expect(states.MoreToPrepare).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.Prepare.Remaining', NumericGreaterThan: 0, Next: 'PrepareGiants' }],
      Default: 'CopyObjects',
    });
    expect(copyObjects.Next).toBe('AnyGiants');
    expect(states.AnyGiants).toEqual({
      Type: 'Choice',
      Comment: expect.any(String),
      Choices: [{ Variable: '$.Plan.Units.Giants', NumericGreaterThan: 0, Next: 'CompleteGiants' }],
      Default: 'MirrorDeletes',
    });
    expect(states.CompleteGiants).toMatchObject({
      Resource: '<CopyFunction.Arn>',
      Parameters: {
        Action: 'CompleteGiants',
        'Giants.$': '$.Plan.Giants',
        'BatchInput.$': '$.Plan.BatchInput',
        'Staging.$': '$.Plan.Staging',
        'Map.$': '$.Map',
      },
      ResultPath: '$.Complete',
      Next: 'MoreToComplete',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.Complete', Next: 'MirrorDeletes' }],
    });
    expect(states.MoreToComplete).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.Complete.Remaining', NumericGreaterThan: 0, Next: 'CompleteGiants' }],
      Default: 'MirrorDeletes',
    });
    // A mirror's deletions: only with Plan.Deletes, never in a dry run, only when any were planned.
    expect(states.MirrorDeletes).toMatchObject({
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: '$.Plan.Deletes', IsPresent: true },
            { Variable: '$.Plan.DryRun', BooleanEquals: false },
          ],
          Next: 'AnyDeletes',
        },
      ],
      Default: 'Summarize',
    });
    expect(states.AnyDeletes).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.Plan.Deletes.Count', NumericGreaterThan: 0, Next: 'DeleteMirrored' }],
      Default: 'Summarize',
    });
    expect(states.DeleteMirrored).toMatchObject({
      Type: 'Task',
      Resource: '<CopyFunction.Arn>',
      Parameters: { Action: 'DeleteMirrored', 'Run.$': '$' },
      ResultPath: '$.Delete',
      Next: 'Summarize',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.Delete', Next: 'Summarize' }],
    });
    expect(states.Summarize.End).toBe(true);
  });

  it('Plan gets the event and the execution name, and keeps only its own output', () => {
    expect(states.Plan).toMatchObject({
      Type: 'Task',
      Resource: '<PlanFunction.Arn>',
      Parameters: { 'Event.$': '$', Execution: { 'Name.$': '$$.Execution.Name' } },
      ResultSelector: { 'Plan.$': '$' },
    });
    expect(states.Plan.ResultPath).toBeUndefined();
    expect(states.Plan.Retry).toEqual([
      { ...LAMBDA_SERVICE_RETRY, MaxAttempts: 6 },
      {
        ErrorEquals: ['CredentialsEndpointError', 'TransientError'],
        IntervalSeconds: 5,
        MaxAttempts: 3,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
    ]);
  });

  it('fails a rejected plan with the error name and the Lambda errorMessage as the Cause', () => {
    expect(states.Plan.Catch).toEqual([
      {
        ErrorEquals: [
          'InvalidInput',
          'AuthenticationFailed',
          'EulaNotAccepted',
          'CredentialsForbidden',
          'TokenParameterError',
          'SourceNotFound',
          'SourceAccessDenied',
          'CredentialsEndpointError',
          'TransientError',
          'DestinationAccessDenied',
          'KeyOrderError',
          'TooManyDeletes',
        ],
        ResultPath: '$',
        Next: 'DescribePlanError',
      },
    ]);
    expect(states.DescribePlanError).toMatchObject({
      Type: 'Pass',
      Parameters: { 'Error.$': '$.Error', 'Cause.$': 'States.StringToJson($.Cause)' },
      Next: 'PlanFailed',
    });
    expect(states.PlanFailed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.Error',
      CausePath: '$.Cause.errorMessage',
    });
  });

  it('CopyObjects reads the JSONL manifest of units from the plan, one child per unit, and writes results to staging', () => {
    expect(copyObjects).toMatchObject({
      Type: 'Map',
      Label: 'CopyObjects',
      ItemReader: {
        Resource: 'arn:<AWS::Partition>:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSONL' },
        Parameters: { 'Bucket.$': '$.Plan.Manifest.Bucket', 'Key.$': '$.Plan.Manifest.Key' },
      },
      ItemSelector: { 'Unit.$': '$$.Map.Item.Value', 'BatchInput.$': '$.Plan.BatchInput' },
      MaxConcurrency: 100,
      ToleratedFailurePercentage: 10,
      ResultWriter: {
        Resource: 'arn:<AWS::Partition>:states:::s3:putObject',
        Parameters: { 'Bucket.$': '$.Plan.Staging.Bucket', 'Prefix.$': '$.Plan.Staging.Prefix' },
      },
      ResultPath: '$.Map',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.Map', Next: 'AnyGiants' }],
    });
    // One unit per child: Plan sizes units (shared/units.ts), no ItemBatcher regroups them.
    expect(copyObjects).not.toHaveProperty('ItemBatcher');
    expect(copyObjects.ResultWriter).not.toHaveProperty('WriterConfig');
  });

  it('runs each unit as a STANDARD child: CopyBatch, looping over what is left, keeping earlier credit', () => {
    expect((copyObjects.ItemProcessor as Json).ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
    expect((copyObjects.ItemProcessor as Json).StartAt).toBe('CopyBatch');
    expect(Object.keys(child).sort()).toEqual([
      'CarryOn',
      'CopyBatch',
      'CreditKept',
      'KeepCredit',
      'MoreToDo',
      'UnitDone',
      'UnitFailed',
    ]);
    expect(child.CopyBatch).toMatchObject({
      Type: 'Task',
      Resource: '<CopyFunction.Arn>',
      Next: 'MoreToDo',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.Failure', Next: 'KeepCredit' }],
    });
    expect(child.CopyBatch).not.toHaveProperty('Parameters');
    expect(child.CopyBatch).not.toHaveProperty('ResultPath');
    expect(child.CopyBatch.Retry).toEqual([
      { ...LAMBDA_SERVICE_RETRY, MaxAttempts: 8 },
      {
        ErrorEquals: ['CredentialsEndpointError', 'TransientError'],
        IntervalSeconds: 10,
        MaxAttempts: 4,
        BackoffRate: 2,
        MaxDelaySeconds: 120,
        JitterStrategy: 'FULL',
      },
      // Killed at its timeout: units are idempotent, so it runs again (twice at most).
      { ErrorEquals: ['Sandbox.Timedout'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 },
    ]);
    expect(child.MoreToDo).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.Next', IsPresent: true, Next: 'CarryOn' }],
      Default: 'UnitDone',
    });
    expect(child.CarryOn).toMatchObject({
      Type: 'Pass',
      Parameters: {
        'Unit.$': '$.Next',
        'BatchInput.$': '$.BatchInput',
        'Results.$': '$.Results',
        'Stalled.$': '$.Stalled',
      },
      Next: 'CopyBatch',
    });
    expect(child.UnitDone).toEqual({ Type: 'Succeed' });
    // Credit from earlier rounds: the child succeeds with those results and the rest's error.
    expect(child.KeepCredit).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.Results[0]', IsPresent: true, Next: 'CreditKept' }],
      Default: 'UnitFailed',
    });
    expect(child.CreditKept).toMatchObject({
      Type: 'Pass',
      Parameters: { 'Results.$': '$.Results', 'Unfinished.$': '$.Unit', 'Failure.$': '$.Failure' },
      End: true,
    });
    expect(child.UnitFailed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.Failure.Error',
      CausePath: '$.Failure.Cause',
    });
  });

  it('Summarize takes the whole state and its output is the execution output', () => {
    expect(states.Summarize).toMatchObject({ Type: 'Task', Resource: '<SummarizeFunction.Arn>', End: true });
    for (const field of ['Parameters', 'ResultPath', 'ResultSelector', 'OutputPath', 'InputPath']) {
      expect(states.Summarize).not.toHaveProperty(field);
    }
    expect(states.Summarize.Retry).toEqual([{ ...LAMBDA_SERVICE_RETRY, MaxAttempts: 6 }]);
  });
});

describe('state machine', () => {
  it('logs to CloudWatch without execution data, and traces with X-Ray', () => {
    const [sm] = Object.values(resourcesOfType(synth, 'AWS::StepFunctions::StateMachine'));
    expect(sm.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('exports its ARN and the staging bucket as stack outputs', () => {
    const outputs = synth.template.Outputs as Record<string, Json>;
    expect(readable(outputs.StateMachineArn.Value, synth.names)).toBe('<StateMachine>');
    expect(readable(outputs.StagingBucketName.Value, synth.names)).toBe('<StagingBucket>');
    expect(readable(outputs.DashboardName.Value, synth.names)).toBe('<Dashboard>');
    expect(outputs.TokenParameterPath.Value).toBe('/s3-direct-transfer/');
    expect(outputs.CredentialsEndpoints.Value).toBe(
      'https://*.earthdata.nasa.gov,https://*.earthdatacloud.nasa.gov,https://*.asf.alaska.edu',
    );
    expect(Object.keys(outputs).sort()).toEqual([
      'CredentialsEndpoints',
      'DashboardName',
      'StagingBucketName',
      'StateMachineArn',
      'TokenParameterPath',
    ]);
  });
});

describe('Lambdas', () => {
  const functions = resourcesOfType(synth, 'AWS::Lambda::Function');
  const byName = (name: string): Json =>
    functions[Object.entries(synth.names).find(([, n]) => n === name)![0]];

  it('are exactly plan, copy, summarize and cleanup, on Node.js 22 / arm64 with JSON logs in their own log group', () => {
    expect(
      Object.keys(functions)
        .map((id) => synth.names[id])
        .sort(),
    ).toEqual(['CleanupFunction', 'CopyFunction', 'PlanFunction', 'SummarizeFunction']);
    for (const name of ['PlanFunction', 'CopyFunction', 'SummarizeFunction', 'CleanupFunction']) {
      const fn = byName(name);
      expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(readable((fn.LoggingConfig as Json).LogGroup, synth.names)).toBe(
        `<${name.replace('Function', 'Logs')}>`,
      );
      expect((fn.LoggingConfig as Json).LogFormat).toBe('JSON');
    }
    const logGroups = resourcesOfType(synth, 'AWS::Logs::LogGroup');
    expect(Object.values(logGroups).map((g) => g.RetentionInDays)).toEqual([30, 30, 30, 30, 30]);
  });

  it('size and time each step', () => {
    expect(byName('PlanFunction')).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    expect(byName('CopyFunction')).toMatchObject({ Timeout: 900, MemorySize: 1769 });
    expect(byName('SummarizeFunction')).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    expect(byName('CleanupFunction')).toMatchObject({ Timeout: 60, MemorySize: 256 });
  });

  it('get the staging bucket, token path and destinations through their environment', () => {
    const env = (name: string) =>
      Object.fromEntries(
        Object.entries((byName(name).Environment as { Variables: Json }).Variables).map(([k, v]) => [
          k,
          readable(v, synth.names),
        ]),
      );
    const allowlist =
      'https://*.earthdata.nasa.gov,https://*.earthdatacloud.nasa.gov,https://*.asf.alaska.edu';
    expect(env('PlanFunction')).toEqual({
      OBJECTS_PER_PACK: '500',
      PART_FAN_OUT_BYTES: String(4 * 1024 ** 3),
      COPY_TIMEOUT_SECONDS: '900',
      STAGING_BUCKET: '<StagingBucket>',
      TOKEN_PARAMETER_PATH: '/s3-direct-transfer/',
      TOKEN_KMS_KEY_ID: '<TokenKey.Arn>',
      CREDENTIALS_ENDPOINTS: allowlist,
      ALLOW_INLINE_TOKENS: 'false',
      // Plan refuses Options.Delete unless the stack opts in (the copy role may then delete).
      ALLOW_MIRROR_DELETES: 'false',
      POWERTOOLS_METRICS_NAMESPACE: 'S3DirectTransfer',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(env('CopyFunction')).toEqual({
      STAGING_BUCKET: '<StagingBucket>',
      TOKEN_PARAMETER_PATH: '/s3-direct-transfer/',
      DESTINATION_BUCKETS: 'dest-a,dest-b/earthdata/',
      CREDENTIALS_ENDPOINTS: allowlist,
      DESTINATION_BUCKET_OWNER: '<AWS::AccountId>',
      POWERTOOLS_METRICS_NAMESPACE: 'S3DirectTransfer',
      NODE_OPTIONS: '--enable-source-maps',
      // glibc reuses part buffers instead of page-faulting fresh ones (docs/PERFORMANCE.md)
      MALLOC_MMAP_THRESHOLD_: '33554432',
      MALLOC_TRIM_THRESHOLD_: '268435456',
    });
    // The deployment a dry run's estimate is for.
    expect(env('SummarizeFunction')).toEqual({
      STAGING_BUCKET: '<StagingBucket>',
      NODE_OPTIONS: '--enable-source-maps',
      MAX_CONCURRENCY: '100',
      COPY_MEMORY_MB: '1769',
      COPY_TIMEOUT_SECONDS: '900',
    });
    expect(env('CleanupFunction')).toEqual({
      STAGING_BUCKET: '<StagingBucket>',
      TOKEN_PARAMETER_PATH: '/s3-direct-transfer/',
      STATE_MACHINE_ARN: '<StateMachine>',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });
});

describe('staging bucket', () => {
  it('is private, TLS-only, encrypted, retained, and expires run files', () => {
    const buckets = resourcesOfType(synth, 'AWS::S3::Bucket');
    expect(Object.keys(buckets).map((id) => synth.names[id])).toEqual(['StagingBucket']);
    const [bucket] = Object.values(buckets);
    expect(bucket).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'ExpireRunFiles',
            Prefix: 'runs/',
            Status: 'Enabled',
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
          {
            Id: 'ExpireStagedTokens',
            Prefix: 'tokens/',
            Status: 'Enabled',
            ExpirationInDays: 1,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
    const resources = synth.template.Resources as Record<string, Json>;
    const id = Object.keys(buckets)[0];
    expect(resources[id].DeletionPolicy).toBe('Retain');
    expect(resources[id].UpdateReplacePolicy).toBe('Retain');
    const [policy] = Object.values(resourcesOfType(synth, 'AWS::S3::BucketPolicy'));
    expect((policy.PolicyDocument as { Statement: Json[] }).Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});

describe('IAM, role by role', () => {
  const sortStatements = (statements: ReadableStatement[]) =>
    [...statements].sort((a, b) => key(a).localeCompare(key(b)));
  const key = (s: ReadableStatement) => `${s.Sid ?? ''}|${s.Action.join()}|${s.Resource.join()}`;
  const tokenParameterStatements: ReadableStatement[] = [
    {
      Sid: 'ReadTokenParameters',
      Action: ['ssm:GetParameter'],
      Resource: ['arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/s3-direct-transfer/*'],
    },
    {
      Sid: 'DecryptTokenParametersViaSsm',
      Action: ['kms:Decrypt'],
      Resource: ['arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*'],
      Condition: {
        StringEquals: { 'kms:ViaService': 'ssm.<AWS::Region>.amazonaws.com' },
        StringLike: {
          'kms:EncryptionContext:PARAMETER_ARN':
            'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/s3-direct-transfer/*',
        },
      },
    },
  ];
  const ownLogs = (logs: string): ReadableStatement => ({
    Sid: 'WriteOwnLogs',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: [`<${logs}.Arn>`],
  });

  it('roles are assumable by their service only, with no managed policy', () => {
    const roles = resourcesOfType(synth, 'AWS::IAM::Role');
    expect(
      Object.keys(roles)
        .map((id) => synth.names[id])
        .sort(),
    ).toEqual(['CleanupRole', 'CopyRole', 'PlanRole', 'StateMachineRole', 'SummarizeRole']);
    for (const [id, role] of Object.entries(roles)) {
      expect(role.ManagedPolicyArns).toBeUndefined();
      const [trust] = (role.AssumeRolePolicyDocument as { Statement: Json[] }).Statement;
      if (synth.names[id] === 'StateMachineRole') {
        // Only this account's state machines (confused-deputy protection).
        expect(deepReadable(trust, synth.names)).toEqual({
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: {
            ArnLike: {
              'aws:SourceArn': 'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:*',
            },
            StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' },
          },
        });
      } else {
        expect(trust).toEqual({
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
        });
      }
    }
  });

  it('Plan: writes run files and tokens to staging, removes failed manifests and Sync lists, reads token parameters, lists the destinations; nothing else', () => {
    expect(sortStatements(roleStatements(synth, 'PlanRole'))).toEqual(
      sortStatements([
        ownLogs('PlanLogs'),
        {
          Sid: 'WriteRunFiles',
          Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
          Resource: ['<StagingBucket.Arn>/runs/*', '<StagingBucket.Arn>/tokens/*'],
        },
        {
          Sid: 'RemoveFailedManifests',
          Action: ['s3:DeleteObject'],
          Resource: [
            '<StagingBucket.Arn>/runs/*/deletes.jsonl',
            '<StagingBucket.Arn>/runs/*/manifest.jsonl',
            '<StagingBucket.Arn>/runs/*/skipped.jsonl',
          ],
        },
        // A Sync plan lists the destination: s3:ListBucket there, under the prefixes, nothing more.
        {
          Sid: 'ListDestinationsForSync',
          Action: ['s3:ListBucket'],
          Resource: ['arn:<AWS::Partition>:s3:::dest-a'],
        },
        {
          Sid: 'ListDestinationPrefixForSync0',
          Action: ['s3:ListBucket'],
          Resource: ['arn:<AWS::Partition>:s3:::dest-b'],
          Condition: { StringLike: { 's3:prefix': ['earthdata/*'] } },
        },
        ...tokenParameterStatements,
      ]),
    );
  });

  it('CopyBatch: writes only the destinations (under their prefixes); of staging, reads tokens and run files, writes upload records', () => {
    expect(sortStatements(roleStatements(synth, 'CopyRole'))).toEqual(
      sortStatements([
        ownLogs('CopyLogs'),
        {
          Sid: 'WriteDestinations',
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          Resource: ['arn:<AWS::Partition>:s3:::dest-a/*', 'arn:<AWS::Partition>:s3:::dest-b/earthdata/*'],
        },
        {
          Sid: 'ListDestinations',
          Action: ['s3:ListBucket'],
          Resource: ['arn:<AWS::Partition>:s3:::dest-a'],
        },
        {
          Sid: 'ListDestinationPrefix0',
          Action: ['s3:ListBucket'],
          Resource: ['arn:<AWS::Partition>:s3:::dest-b'],
          Condition: { StringLike: { 's3:prefix': ['earthdata/*'] } },
        },
        { Sid: 'ReadStagedTokens', Action: ['s3:GetObject'], Resource: ['<StagingBucket.Arn>/tokens/*'] },
        // Giant objects: the run's giants list, upload records and map results; records written.
        { Sid: 'ReadRunFiles', Action: ['s3:GetObject'], Resource: ['<StagingBucket.Arn>/runs/*'] },
        {
          Sid: 'WriteUploadRecords',
          Action: ['s3:PutObject'],
          Resource: ['<StagingBucket.Arn>/runs/*/deleted.json', '<StagingBucket.Arn>/runs/*/uploads/*'],
        },
        {
          Sid: 'ListRunFiles',
          Action: ['s3:ListBucket'],
          Resource: ['<StagingBucket.Arn>'],
          Condition: { StringLike: { 's3:prefix': ['runs/*'] } },
        },
        ...tokenParameterStatements,
      ]),
    );
  });

  it('Summarize: reads and writes the staging run files, deletes (never reads) staged tokens', () => {
    expect(sortStatements(roleStatements(synth, 'SummarizeRole'))).toEqual(
      sortStatements([
        ownLogs('SummarizeLogs'),
        {
          Sid: 'ReadWriteRunFiles',
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
          Resource: ['<StagingBucket.Arn>/runs/*'],
        },
        {
          Sid: 'DeleteStagedTokens',
          Action: ['s3:DeleteObject'],
          Resource: ['<StagingBucket.Arn>/tokens/*'],
        },
        {
          Sid: 'ListRunFiles',
          Action: ['s3:ListBucket'],
          Resource: ['<StagingBucket.Arn>'],
          Condition: { StringLike: { 's3:prefix': ['runs/*'] } },
        },
      ]),
    );
  });

  it('state machine: invokes the three Lambdas, uses staging for the map, manages its own children', () => {
    const child =
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"StateMachine"}]}]}';
    expect(sortStatements(roleStatements(synth, 'StateMachineRole'))).toEqual(
      sortStatements([
        ...['PlanFunction', 'CopyFunction', 'SummarizeFunction'].map((fn) => ({
          Action: ['lambda:InvokeFunction'],
          Resource: [`<${fn}.Arn>`, `<${fn}.Arn>:*`],
        })),
        // ItemReader: the manifests only
        { Action: ['s3:GetObject'], Resource: ['<StagingBucket.Arn>/runs/*/manifest.jsonl'] },
        // ResultWriter
        {
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          Resource: ['<StagingBucket.Arn>/runs/*'],
        },
        {
          Action: [
            'logs:CreateLogDelivery',
            'logs:DeleteLogDelivery',
            'logs:DescribeLogGroups',
            'logs:DescribeResourcePolicies',
            'logs:GetLogDelivery',
            'logs:ListLogDeliveries',
            'logs:PutResourcePolicy',
            'logs:UpdateLogDelivery',
          ],
          Resource: ['*'],
        },
        {
          Action: [
            'xray:GetSamplingRules',
            'xray:GetSamplingTargets',
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ],
          Resource: ['*'],
        },
        { Action: ['states:StartExecution'], Resource: ['<StateMachine>'] },
        { Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: [`${child}:*`] },
        { Action: ['states:RedriveExecution'], Resource: [`${child}/CopyObjects:*`] },
      ]),
    );
  });

  it('no role may write S3 with a wildcard bucket, only the copy role writes destinations, Plan only lists them', () => {
    const writes = /^s3:(Put|Delete|Abort|ListMultipartUploadParts)/;
    for (const role of ['PlanRole', 'CopyRole', 'SummarizeRole', 'StateMachineRole', 'CleanupRole']) {
      for (const statement of roleStatements(synth, role)) {
        const s3Actions = statement.Action.filter((a) => a.startsWith('s3:'));
        if (s3Actions.length === 0) continue;
        expect(s3Actions.some((a) => a.includes('*'))).toBe(false);
        for (const resource of statement.Resource) {
          expect(resource).not.toBe('*');
          const destination = resource.startsWith('arn:<AWS::Partition>:s3:::dest-');
          if (role === 'PlanRole' && destination) expect(s3Actions).toEqual(['s3:ListBucket']);
          else if (role !== 'CopyRole') expect(destination).toBe(false);
          if (s3Actions.some((a) => writes.test(a))) {
            expect(destination || /^<StagingBucket\.Arn>\/(runs|tokens)\//.test(resource)).toBe(true);
          }
        }
      }
    }
    // CopyBatch writes nothing of the staging bucket but the giant objects' upload records (and results).
    const copyStagingWrites = roleStatements(synth, 'CopyRole')
      .filter((s) => s.Action.some((a) => writes.test(a)))
      .flatMap((s) => s.Resource.filter((r) => r.includes('StagingBucket')));
    expect(copyStagingWrites).toEqual([
      '<StagingBucket.Arn>/runs/*/deleted.json',
      '<StagingBucket.Arn>/runs/*/uploads/*',
    ]);
  });
});

describe('alarms without alarmEmail', () => {
  const alarms = () =>
    Object.fromEntries(
      Object.entries(resourcesOfType(synth, 'AWS::CloudWatch::Alarm')).map(([id, a]) => [
        synth.names[id],
        deepReadable(a, synth.names) as Json,
      ]),
    );
  const common = {
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
    Period: 300,
    Statistic: 'Sum',
  };

  it('watch failed executions, CopyBatch errors and failed objects', () => {
    const all = alarms();
    expect(Object.keys(all).sort()).toEqual([
      'CopyErrorsAlarm',
      'FailedExecutionsAlarm',
      'FailedObjectsAlarm',
    ]);
    expect(all.FailedExecutionsAlarm).toMatchObject({
      ...common,
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: '<StateMachine>' }],
    });
    expect(all.CopyErrorsAlarm).toMatchObject({
      ...common,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: '<CopyFunction>' }],
    });
    expect(all.FailedObjectsAlarm).toMatchObject({
      ...common,
      Namespace: 'S3DirectTransfer',
      MetricName: 'ObjectsFailed',
      Dimensions: [{ Name: 'service', Value: 'copy' }],
    });
  });

  it('have no actions, and no topic or key is created', () => {
    for (const alarm of Object.values(alarms())) {
      expect(alarm.AlarmActions).toBeUndefined();
      expect(alarm.OKActions).toBeUndefined();
      expect(alarm.AlarmDescription).toMatch(/^s3-direct-transfer: /);
    }
    expect(resourcesOfType(synth, 'AWS::SNS::Topic')).toEqual({});
    // The only key is the staged tokens' own.
    expect(Object.keys(resourcesOfType(synth, 'AWS::KMS::Key')).map((id) => synth.names[id])).toEqual([
      'TokenKey',
    ]);
  });

  it('no mirrors: no schedule, schedule group, scheduler role or dead-letter queue', () => {
    for (const type of ['AWS::Scheduler::Schedule', 'AWS::Scheduler::ScheduleGroup']) {
      expect(resourcesOfType(synth, type)).toEqual({});
    }
    // The one queue is the cleanup's dead-letter queue.
    expect(Object.keys(resourcesOfType(synth, 'AWS::SQS::Queue')).map((id) => synth.names[id])).toEqual([
      'CleanupDeadLetters',
    ]);
  });
});
