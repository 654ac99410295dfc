import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { TransferPipeline, type TransferPipelineProps } from '../../infra/transfer-pipeline';
import { definitionOf, roleStatements, synthesizeStack, type Json } from './helpers';

const outdir = mkdtempSync(join(tmpdir(), 'construct-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The construct in someone else's app and stack. */
function inAnotherApp(props: (stack: Stack) => TransferPipelineProps) {
  const app = new App({ outdir, context: { [BUNDLING_STACKS]: [] } });
  const stack = new Stack(app, 'SomeoneElsesStack');
  const pipeline = new TransferPipeline(stack, 'Pipeline', props(stack));
  return { stack, pipeline, template: Template.fromStack(stack) };
}

describe('TransferPipeline in another app', () => {
  it('needs only destinationBuckets, and accepts bucket constructs with prefixes', () => {
    const { template, stack } = inAnotherApp((s) => ({
      destinationBuckets: ['plain-bucket', { bucket: new s3.Bucket(s, 'Mine'), prefix: 'incoming/' }],
    }));
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.resourceCountIs('AWS::Lambda::Function', 4);
    const mine = stack.getLogicalId(stack.node.findChild('Mine').node.defaultChild as s3.CfnBucket);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'WriteDestinations',
            Resource: [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::plain-bucket/*']] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [mine, 'Arn'] }, '/incoming/*']] },
            ],
          }),
          Match.objectLike({
            Sid: 'ListDestinationPrefix0',
            Action: 's3:ListBucket',
            Resource: { 'Fn::GetAtt': [mine, 'Arn'] },
            Condition: { StringLike: { 's3:prefix': ['incoming/*'] } },
          }),
        ]),
      },
    });
  });

  it('with allowMirrorDeletes, lets the copy role delete in the destinations (under their prefixes) and mirrors delete', () => {
    const deleting = (allowMirrorDeletes: boolean) =>
      inAnotherApp(() => ({
        destinationBuckets: ['plain-bucket', 'other-bucket/mirror/'],
        allowMirrorDeletes,
        mirrors: [
          {
            name: 'mur',
            schedule: 'rate(1 day)',
            event: {
              CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
              BearerTokenParameter: '/s3-direct-transfer/edl-token',
              Source: { Bucket: 'podaac-ops-cumulus-protected', Prefix: 'MUR/' },
              Dest: { Bucket: 'other-bucket', Prefix: 'mirror/mur/' },
              Options: { Delete: true, MaxDeletes: 50 },
            },
          },
        ],
      }));
    const deletes = (template: Template) =>
      Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
        (policy.Properties.PolicyDocument.Statement as Json[]).filter((s) =>
          ([] as unknown[]).concat(s.Action).includes('s3:DeleteObject'),
        ),
      );
    const { template } = deleting(true);
    const [statement] = deletes(template).filter((s) => s.Sid === 'DeleteMirrored');
    expect(statement.Resource).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::plain-bucket/*']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::other-bucket/mirror/*']] },
    ]);
    // Plan is told, so that an ad hoc event with Options.Delete is accepted only here.
    const planEnv = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f) => (f.Properties.Environment?.Variables ?? {}) as Record<string, unknown>)
      .filter((vars) => 'ALLOW_MIRROR_DELETES' in vars);
    expect(planEnv.map((vars) => vars.ALLOW_MIRROR_DELETES)).toEqual(['true']);
    expect(() => deleting(false)).toThrow(/mirror "mur": event\.Options\.Delete: .*allowMirrorDeletes=true/);
  });

  it('without a dashboard, and with its own metrics namespace for the Lambdas and the alarms', () => {
    const { template, pipeline } = inAnotherApp(() => ({
      destinationBuckets: ['plain-bucket'],
      dashboard: false,
      metricsNamespace: 'TeamTransfers',
    }));
    expect(pipeline.monitoring.dashboard).toBeUndefined();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'TeamTransfers',
      MetricName: 'ObjectsFailed',
    });
    for (const fn of [pipeline.planFunction, pipeline.copyFunction]) {
      const id = (fn.node.defaultChild as CfnElement).logicalId;
      expect(
        (template.toJSON().Resources[Stack.of(fn).resolve(id)].Properties.Environment.Variables as Json)
          .POWERTOOLS_METRICS_NAMESPACE,
      ).toBe('TeamTransfers');
    }
  });

  it('rejects settings it cannot honour', () => {
    const bad = (extra: Partial<TransferPipelineProps>) => () =>
      inAnotherApp(() => ({ destinationBuckets: ['a-bucket'], ...extra }));
    expect(bad({ objectsPerPack: 0 })).toThrow(/objectsPerPack/);
    expect(bad({ partFanOutBytes: 1024 })).toThrow(/partFanOutBytes/);
    expect(bad({ maxConcurrency: 1.5 })).toThrow(/maxConcurrency/);
    expect(bad({ toleratedFailurePercentage: 150 })).toThrow(/toleratedFailurePercentage/);
    expect(bad({ copyTimeout: Duration.minutes(20) })).toThrow(/copyTimeout/);
    expect(bad({ tokenParameterPath: 'relative' })).toThrow(/tokenParameterPath/);
    expect(bad({ metricsNamespace: 'has space' })).toThrow(/metricsNamespace/);
    expect(bad({ alarmEmail: 'nobody' })).toThrow(/alarmEmail: expected an e-mail address/);
    expect(() => inAnotherApp(() => ({ destinationBuckets: ['Not_A_Bucket'] }))).toThrow(
      /not a valid S3 bucket/,
    );
  });
});

describe('the stack without destination buckets (what the one-machine host synthesizes)', () => {
  const synth = synthesizeStack({ destinationBuckets: [] });

  it('synthesizes, with a warning that says how to configure them', () => {
    expect(synth.error).toBeUndefined();
    Annotations.fromStack(synth.stack).hasWarning(
      '/S3DirectTransfer/Pipeline',
      Match.stringLikeRegexp('No destination buckets are configured.*-c destinationBuckets='),
    );
  });

  it('gives CopyBatch no destination at all', () => {
    const statements = roleStatements(synth, 'CopyRole');
    expect(statements.map((s) => s.Sid).sort()).toEqual([
      'DecryptTokenParametersViaSsm',
      'ListRunFiles',
      'ReadRunFiles',
      'ReadStagedTokens',
      'ReadTokenParameters',
      'WriteOwnLogs',
      'WriteUploadRecords',
    ]);
  });
});

describe('settings reach the definition, the Lambdas and IAM', () => {
  const synth = synthesizeStack({
    destinationBuckets: [{ bucketName: 'dest-a' }],
    maxConcurrency: 7,
    objectsPerPack: 5,
    toleratedFailurePercentage: 25,
    copyMemoryMb: 3008,
    copyTimeoutMinutes: 10,
    tokenParameterPath: '/team/tokens/',
  });

  it('in the Distributed Map', () => {
    const map = (definitionOf(synth).States as Record<string, Json>).CopyObjects;
    expect(map).toMatchObject({ MaxConcurrency: 7, ToleratedFailurePercentage: 25 });
  });

  it('in Plan, which cuts the units', () => {
    const template = Template.fromJSON(synth.template);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Plan'),
      Environment: {
        Variables: Match.objectLike({ OBJECTS_PER_PACK: '5', COPY_TIMEOUT_SECONDS: '600' }),
      },
    });
  });

  it('in CopyBatch and the token parameter grants', () => {
    const template = Template.fromJSON(synth.template);
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 3008,
      Timeout: 600,
      Environment: { Variables: Match.objectLike({ TOKEN_PARAMETER_PATH: '/team/tokens/' }) },
    });
    for (const role of ['PlanRole', 'CopyRole']) {
      expect(roleStatements(synth, role).find((s) => s.Sid === 'ReadTokenParameters')?.Resource).toEqual([
        'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/team/tokens/*',
      ]);
    }
  });
});

describe('cdk-nag stays in force', () => {
  it('fails the synthesis when a new wildcard permission appears', () => {
    const synth = synthesizeStack(
      { destinationBuckets: [{ bucketName: 'dest-a' }] },
      {
        nag: true,
        customize: (stack) =>
          stack.pipeline.copyFunction.addToRolePolicy(
            new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::*/*'] }),
          ),
      },
    );
    expect(synth.error?.message).toContain('AwsSolutions-IAM5[Resource::arn:aws:s3:::*/*]');
  });
});
