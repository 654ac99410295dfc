import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { configFromContext } from '../../infra/config';
import {
  deepReadable,
  joinedJson,
  logicalIdOf,
  readable,
  rename,
  resourcesOfType,
  roleStatements,
  synthesizeStack,
  type Json,
} from './helpers';

const MIRRORS_FILE = join(__dirname, '..', '..', 'docs', 'examples', 'mirrors', 'mirrors.example.json');

// One synthesis for the whole file (with cdk-nag): the stack as `cdk deploy` builds it with the example
// mirrors file and an alarm e-mail address, read through the CDK context like the app does.
const context: Record<string, unknown> = {
  destinationBuckets: 'my-science-bucket',
  mirrorsFile: MIRRORS_FILE,
  alarmEmail: 'ops@example.org',
};
const synth = synthesizeStack(
  configFromContext((key) => context[key]),
  { nag: true },
);

const byName = (type: string): Record<string, Json> =>
  Object.fromEntries(
    Object.values(resourcesOfType(synth, type)).map((r) => [
      String(r.Name),
      deepReadable(r, synth.names) as Json,
    ]),
  );

describe('synthesis with mirrors and alarmEmail', () => {
  it('passes cdk-nag, acknowledging only the dead-letter queue beyond the pipeline', () => {
    expect(synth.error?.message).toBeUndefined();
    const acknowledged: string[] = [];
    const visit = (c: IConstruct): void => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect(reason.length).toBeGreaterThan(40);
          acknowledged.push(`${c.node.path} ${rename(id, synth.names)}`);
        }
      }
      c.node.children.forEach(visit);
    };
    visit(synth.stack);
    expect(acknowledged.filter((id) => /\/(Mirrors|Monitoring)\//.test(id))).toEqual([
      'S3DirectTransfer/Pipeline/Mirrors/DeadLetterQueue Annotation::AwsSolutions-SQS3',
    ]);
  });
});

describe('stack outputs', () => {
  it("name the dashboard, the mirrors' schedule group and their dead-letter queue", () => {
    const outputs = synth.template.Outputs as Record<string, Json>;
    const [group] = Object.values(resourcesOfType(synth, 'AWS::Scheduler::ScheduleGroup'));
    expect(Object.keys(outputs).sort()).toEqual([
      'CredentialsEndpoints',
      'DashboardName',
      'MirrorScheduleGroup',
      'MirrorsDeadLetterQueueUrl',
      'StagingBucketName',
      'StateMachineArn',
      'TokenParameterPath',
    ]);
    expect(outputs.MirrorScheduleGroup.Value).toBe(group.Name);
    expect(readable(outputs.MirrorsDeadLetterQueueUrl.Value, synth.names)).toBe('<MirrorsDeadLetterQueue>');
  });
});

describe('mirror schedules', () => {
  const schedules = byName('AWS::Scheduler::Schedule');
  const input = (name: string) => JSON.parse(String((schedules[name].Target as Json).Input)) as Json;

  it("one per mirror, in the pipeline's own schedule group, which each depends on", () => {
    expect(Object.keys(schedules).sort()).toEqual(['asf-backfill-paused', 'podaac-mur', 'smap-sss-weekly']);
    const [group] = Object.values(resourcesOfType(synth, 'AWS::Scheduler::ScheduleGroup'));
    const resources = synth.template.Resources as Record<string, Json>;
    for (const [id, schedule] of Object.entries(resourcesOfType(synth, 'AWS::Scheduler::Schedule'))) {
      expect(schedule.GroupName).toBe(group.Name);
      expect(resources[id].DependsOn).toContain(
        Object.entries(synth.names).find(([, n]) => n === 'ScheduleGroup')![0],
      );
    }
  });

  it('carry expression, time zone, state and flexible window', () => {
    expect(schedules['podaac-mur']).toMatchObject({
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'America/Los_Angeles',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Description: 'MUR SST L4 granules of the current year, every morning',
    });
    expect(schedules['smap-sss-weekly']).toMatchObject({
      ScheduleExpression: 'rate(7 days)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 },
      Description: 's3-direct-transfer mirror smap-sss-weekly',
    });
    // No timezone given: CDK writes EventBridge Scheduler's default.
    expect(schedules['smap-sss-weekly'].ScheduleExpressionTimezone).toBe('Etc/UTC');
    expect(schedules['asf-backfill-paused']).toMatchObject({
      ScheduleExpression: 'cron(30 2 ? * SUN *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'DISABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
  });

  it('start the state machine with the scheduler role, retries and the dead-letter queue', () => {
    for (const schedule of Object.values(schedules)) {
      expect(schedule.Target).toMatchObject({
        Arn: '<StateMachine>',
        RoleArn: '<SchedulerRole.Arn>',
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: '<MirrorsDeadLetterQueue.Arn>' },
      });
    }
  });

  it('give the event as input, with Sync defaulted to true and an explicit false kept', () => {
    expect(input('podaac-mur')).toEqual({
      CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
      BearerTokenParameter: '/s3-direct-transfer/edl-token',
      AppName: 'mirror-podaac-mur',
      Source: {
        Bucket: 'podaac-ops-cumulus-protected',
        Prefix: 'MUR-JPL-L4-GLOB-v4.1/2026',
        Include: ['*.nc'],
      },
      Dest: { Bucket: 'my-science-bucket', Prefix: 'mur/' },
      Options: { Sync: true },
    });
    expect(input('smap-sss-weekly').Options).toEqual({ Sync: true });
    expect(input('asf-backfill-paused').Options).toEqual({ Sync: false });
  });

  it("scheduler role: assumable by this account's schedules in the group only; may start this state machine and write the queue", () => {
    const roles = resourcesOfType(synth, 'AWS::IAM::Role');
    const id = Object.entries(synth.names).find(([, n]) => n === 'SchedulerRole')![0];
    expect(roles[id].ManagedPolicyArns).toBeUndefined();
    expect(deepReadable(roles[id].AssumeRolePolicyDocument, synth.names)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>', 'aws:SourceArn': '<ScheduleGroup.Arn>' },
          },
        },
      ],
    });
    expect(roleStatements(synth, 'SchedulerRole')).toEqual([
      { Action: ['states:StartExecution'], Resource: ['<StateMachine>'] },
      { Action: ['sqs:SendMessage'], Resource: ['<MirrorsDeadLetterQueue.Arn>'] },
    ]);
  });

  it('dead-letter queue: encrypted, TLS only, kept 14 days', () => {
    const [queue] = Object.values(resourcesOfType(synth, 'AWS::SQS::Queue'));
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const [policy] = Object.values(resourcesOfType(synth, 'AWS::SQS::QueuePolicy'));
    expect((policy.PolicyDocument as { Statement: Json[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });
});

describe('alarms with alarmEmail', () => {
  const alarms = Object.fromEntries(
    Object.entries(resourcesOfType(synth, 'AWS::CloudWatch::Alarm')).map(([id, a]) => [
      synth.names[id],
      deepReadable(a, synth.names) as Json,
    ]),
  );

  it('all notify the alarm topic, including the one for unstarted mirror runs', () => {
    expect(Object.keys(alarms).sort()).toEqual([
      'CopyErrorsAlarm',
      'FailedExecutionsAlarm',
      'FailedObjectsAlarm',
      'UnstartedMirrorRunsAlarm',
    ]);
    for (const alarm of Object.values(alarms)) expect(alarm.AlarmActions).toEqual(['<AlarmTopic>']);
    expect(alarms.UnstartedMirrorRunsAlarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: '<MirrorsDeadLetterQueue.QueueName>' }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('topic: e-mail subscription, customer-managed rotating key, TLS only, CloudWatch alarms may publish', () => {
    const [subscription] = Object.values(resourcesOfType(synth, 'AWS::SNS::Subscription'));
    expect(deepReadable(subscription, synth.names)).toEqual({
      Protocol: 'email',
      Endpoint: 'ops@example.org',
      TopicArn: '<AlarmTopic>',
    });
    const [topic] = Object.values(resourcesOfType(synth, 'AWS::SNS::Topic'));
    expect(readable(topic.KmsMasterKeyId, synth.names)).toBe('<AlarmTopicKey.Arn>');
    const key = resourcesOfType(synth, 'AWS::KMS::Key')[
      logicalIdOf(synth.stack.pipeline.monitoring.alarmTopic!.masterKey!)
    ];
    expect(key.EnableKeyRotation).toBe(true);
    const fromAlarms = {
      StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' },
      ArnLike: { 'aws:SourceArn': 'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*' },
    };
    expect(deepReadable(key.KeyPolicy, synth.names)).toMatchObject({
      Statement: expect.arrayContaining([
        {
          Sid: 'AllowCloudWatchAlarmsToPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: fromAlarms,
        },
      ]),
    });
    const [topicPolicy] = Object.values(resourcesOfType(synth, 'AWS::SNS::TopicPolicy'));
    expect(deepReadable(topicPolicy.PolicyDocument, synth.names)).toMatchObject({
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'sns:Publish',
          Resource: '<AlarmTopic>',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'AllowCloudWatchAlarmsToPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: '<AlarmTopic>',
          Condition: fromAlarms,
        },
      ],
    });
  });
});

describe('dashboard', () => {
  const [dashboard] = Object.values(resourcesOfType(synth, 'AWS::CloudWatch::Dashboard'));
  const body = joinedJson(dashboard.DashboardBody, synth.names) as {
    widgets: { type: string; properties: Json }[];
  };
  const widget = (title: string) => {
    const found = body.widgets.find((w) => w.properties.title === title);
    if (!found) throw new Error(`no widget "${title}"`);
    return found.properties as {
      metrics?: unknown[][];
      period?: number;
      annotations?: Json;
      alarms?: string[];
    };
  };
  /** Each metric line as `namespace name dim=value ... stat[/period] label`. */
  const lines = (title: string) =>
    widget(title).metrics!.map((m) => {
      const options = m[m.length - 1] as { label?: string; stat?: string; period?: number };
      const fields = m.slice(0, -1) as string[];
      const dims: string[] = [];
      for (let i = 2; i < fields.length; i += 2) dims.push(`${fields[i]}=${fields[i + 1]}`);
      const period = options.period === undefined ? '' : `/${options.period}`;
      return `${fields[0]} ${fields[1]} ${dims.join(' ')} ${options.stat}${period} ${options.label}`;
    });

  it('has these widgets, in this order', () => {
    expect(body.widgets.map((w) => w.properties.title)).toEqual([
      'Alarms',
      'Executions',
      'CopyObjects batches (map run child executions)',
      'Objects',
      'Bytes copied per minute',
      'Bytes planned',
      'TEA credential refreshes',
      'Lambda errors',
      'Lambda throttles',
      'Lambda duration (maximum)',
      'Scheduled mirror starts',
      'Mirror starts waiting in the dead-letter queue',
    ]);
    expect(widget('Alarms').alarms).toHaveLength(4);
  });

  it('executions of the state machine, and of the map run children (labelled ARN)', () => {
    expect(lines('Executions')).toEqual([
      'AWS/States ExecutionsStarted StateMachineArn=<StateMachine> Sum Started',
      'AWS/States ExecutionsSucceeded StateMachineArn=<StateMachine> Sum Succeeded',
      'AWS/States ExecutionsFailed StateMachineArn=<StateMachine> Sum Failed',
      'AWS/States ExecutionsAborted StateMachineArn=<StateMachine> Sum Aborted',
      'AWS/States ExecutionsTimedOut StateMachineArn=<StateMachine> Sum Timed out',
    ]);
    expect(lines('CopyObjects batches (map run child executions)')).toEqual([
      'AWS/States ExecutionsStarted StateMachineArn=<StateMachine>/CopyObjects Sum Started',
      'AWS/States ExecutionsSucceeded StateMachineArn=<StateMachine>/CopyObjects Sum Succeeded',
      'AWS/States ExecutionsFailed StateMachineArn=<StateMachine>/CopyObjects Sum Failed',
    ]);
  });

  it("objects, bytes per minute and credential refreshes from the Lambdas' EMF metrics", () => {
    expect(lines('Objects')).toEqual([
      'S3DirectTransfer ObjectsPlanned service=plan Sum Planned',
      'S3DirectTransfer ObjectsCopied service=copy Sum Copied',
      'S3DirectTransfer ObjectsSkipped service=copy Sum Skipped (Sync)',
      'S3DirectTransfer ObjectsFailed service=copy Sum Failed',
    ]);
    expect(lines('Bytes copied per minute')).toEqual([
      'S3DirectTransfer BytesCopied service=copy Sum/60 Bytes copied',
    ]);
    expect(lines('TEA credential refreshes')).toEqual([
      'S3DirectTransfer CredentialRefreshes service=copy Sum Refreshes',
    ]);
  });

  it('errors, throttles and duration of the three Lambdas, with the CopyBatch timeout drawn', () => {
    const fns = (metric: string, stat: string) =>
      ['PlanFunction Plan', 'CopyFunction CopyBatch', 'SummarizeFunction Summarize'].map((f) => {
        const [fn, label] = f.split(' ');
        return `AWS/Lambda ${metric} FunctionName=<${fn}> ${stat} ${label}`;
      });
    expect(lines('Lambda errors')).toEqual(fns('Errors', 'Sum'));
    expect(lines('Lambda throttles')).toEqual(fns('Throttles', 'Sum'));
    expect(lines('Lambda duration (maximum)')).toEqual(fns('Duration', 'Maximum'));
    expect(widget('Lambda duration (maximum)').annotations).toEqual({
      horizontal: [{ value: 900_000, label: 'CopyBatch timeout', yAxis: 'left' }],
    });
  });

  it('scheduled starts of the mirrors and their dead-letter queue', () => {
    const [group] = Object.values(resourcesOfType(synth, 'AWS::Scheduler::ScheduleGroup'));
    const text = (metrics: string[]) => metrics.map((m) => m.replace(String(group.Name), '<ScheduleGroup>'));
    expect(text(lines('Scheduled mirror starts'))).toEqual([
      'AWS/Scheduler InvocationAttemptCount ScheduleGroup=<ScheduleGroup> Sum Attempts',
      'AWS/Scheduler TargetErrorCount ScheduleGroup=<ScheduleGroup> Sum Target errors',
      'AWS/Scheduler InvocationDroppedCount ScheduleGroup=<ScheduleGroup> Sum Dropped',
      'AWS/Scheduler InvocationsSentToDeadLetterCount ScheduleGroup=<ScheduleGroup> Sum Sent to the dead-letter queue',
    ]);
    expect(lines('Mirror starts waiting in the dead-letter queue')).toEqual([
      'AWS/SQS ApproximateNumberOfMessagesVisible QueueName=<MirrorsDeadLetterQueue.QueueName> Maximum Messages',
    ]);
  });
});
