import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { MetricName, MetricsService } from '../shared/metrics';
import { parseAlarmEmail } from './config';
import type { MirrorSchedules } from './mirrors/schedules';

export interface PipelineMonitoringProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly planFunction: lambda.IFunction;
  readonly copyFunction: lambda.IFunction;
  readonly summarizeFunction: lambda.IFunction;
  /** Drawn on the duration graph. */
  readonly copyTimeout: Duration;
  /** Namespace of the Lambdas' custom metrics (shared/metrics.ts). */
  readonly metricsNamespace: string;
  /** Label of the Distributed Map: its child executions report as `<state machine ARN>/<label>`. */
  readonly mapRunLabel: string;
  /** Build the dashboard. */
  readonly dashboard: boolean;
  /** Send alarms to this address (through an encrypted SNS topic). */
  readonly alarmEmail?: string;
  /** The mirrors' schedules, if any: their starts get a graph and an alarm. */
  readonly mirrors?: MirrorSchedules;
}

/** The alarms of the pipeline. */
export interface PipelineAlarms {
  /** An execution failed (rejected event or token, or a failure Summarize could not absorb). */
  readonly failedExecutions: cloudwatch.Alarm;
  /** CopyBatch invocations failed (thrown systemic errors, crashes, timeouts), retried or not. */
  readonly copyErrors: cloudwatch.Alarm;
  /** Objects failed to copy (their runs still succeed, with `Failed` > 0 in the result). */
  readonly failedObjects: cloudwatch.Alarm;
  /** A scheduled mirror run could not be started (its start is in the dead-letter queue). */
  readonly unstartedMirrorRuns?: cloudwatch.Alarm;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms (with an optional e-mail topic) and a CloudWatch dashboard: executions, the Distributed Map's
 * batches, objects and bytes from the Lambdas' EMF metrics, credential refreshes, and the Lambdas' errors,
 * throttles and durations.
 */
export class PipelineMonitoring extends Construct {
  readonly alarms: PipelineAlarms;
  /** Where the alarms go, when an e-mail address was given. */
  readonly alarmTopic?: sns.Topic;
  readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const { stateMachine, metricsNamespace } = props;
    const functions: [string, lambda.IFunction][] = [
      ['Plan', props.planFunction],
      ['CopyBatch', props.copyFunction],
      ['Summarize', props.summarizeFunction],
    ];
    const custom = (service: string, metricName: string, label?: string, period = FIVE_MINUTES) =>
      new cloudwatch.Metric({
        namespace: metricsNamespace,
        metricName,
        dimensionsMap: { service },
        statistic: cloudwatch.Stats.SUM,
        period,
        label,
      });
    const batches = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: `${stateMachine.stateMachineArn}/${props.mapRunLabel}` },
        statistic: cloudwatch.Stats.SUM,
        period: FIVE_MINUTES,
        label,
      });
    const sum = { statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES };

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.alarms = {
      failedExecutions: alarm(
        'FailedExecutionsAlarm',
        stateMachine.metricFailed(sum),
        's3-direct-transfer: an execution failed. Its Error and Cause (Step Functions console) say why: ' +
          'a rejected event or token (InvalidInput, AuthenticationFailed, TokenParameterError, ...), or a failure ' +
          'after the retries.',
      ),
      copyErrors: alarm(
        'CopyErrorsAlarm',
        props.copyFunction.metricErrors(sum),
        's3-direct-transfer: CopyBatch invocations failed (credentials endpoint or token errors, a crash, a ' +
          'timeout). Step Functions retries them; see the CopyBatch log group.',
      ),
      failedObjects: alarm(
        'FailedObjectsAlarm',
        custom(MetricsService.Copy, MetricName.ObjectsFailed),
        's3-direct-transfer: objects failed to copy. The run succeeded with Failed > 0: its result and report ' +
          '(runs/<execution name>/report.json in the staging bucket) list them.',
      ),
      ...(props.mirrors && {
        unstartedMirrorRuns: alarm(
          'UnstartedMirrorRunsAlarm',
          props.mirrors.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: FIVE_MINUTES,
          }),
          's3-direct-transfer: EventBridge Scheduler could not start a mirror run after its retries. The ' +
            "mirror's input and the error are in the dead-letter queue.",
        ),
      }),
    };

    if (props.alarmEmail !== undefined) {
      this.alarmTopic = this.createAlarmTopic(parseAlarmEmail(props.alarmEmail));
      const action = new actions.SnsAction(this.alarmTopic);
      for (const a of Object.values(this.alarms) as cloudwatch.Alarm[]) a.addAlarmAction(action);
    }

    if (!props.dashboard) return;
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const byFunction = (metric: (fn: lambda.IFunction, label: string) => cloudwatch.IMetric) =>
      functions.map(([label, fn]) => metric(fn, label));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms) as cloudwatch.Alarm[],
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      graph('Executions', [
        stateMachine.metricStarted({ ...sum, label: 'Started' }),
        stateMachine.metricSucceeded({ ...sum, label: 'Succeeded' }),
        stateMachine.metricFailed({ ...sum, label: 'Failed' }),
        stateMachine.metricAborted({ ...sum, label: 'Aborted' }),
        stateMachine.metricTimedOut({ ...sum, label: 'Timed out' }),
      ]),
      graph('CopyObjects batches (map run child executions)', [
        batches('ExecutionsStarted', 'Started'),
        batches('ExecutionsSucceeded', 'Succeeded'),
        batches('ExecutionsFailed', 'Failed'),
      ]),
      graph('Objects', [
        custom(MetricsService.Plan, MetricName.ObjectsPlanned, 'Planned'),
        custom(MetricsService.Copy, MetricName.ObjectsCopied, 'Copied'),
        custom(MetricsService.Copy, MetricName.ObjectsSkipped, 'Skipped (Sync)'),
        custom(MetricsService.Copy, MetricName.ObjectsFailed, 'Failed'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Bytes copied per minute',
        [custom(MetricsService.Copy, MetricName.BytesCopied, 'Bytes copied', Duration.minutes(1))],
        { leftYAxis: { min: 0, showUnits: false } },
      ),
      graph('Bytes planned', [custom(MetricsService.Plan, MetricName.BytesPlanned, 'Bytes planned')], {
        leftYAxis: { min: 0, showUnits: false },
      }),
      graph('TEA credential refreshes', [
        custom(MetricsService.Copy, MetricName.CredentialRefreshes, 'Refreshes'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        byFunction((fn, label) => fn.metricErrors({ ...sum, label })),
      ),
      graph(
        'Lambda throttles',
        byFunction((fn, label) => fn.metricThrottles({ ...sum, label })),
      ),
      graph(
        'Lambda duration (maximum)',
        byFunction((fn, label) =>
          fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES, label }),
        ),
        { leftAnnotations: [{ value: props.copyTimeout.toMilliseconds(), label: 'CopyBatch timeout' }] },
      ),
    );
    if (props.mirrors) {
      const group = props.mirrors.group;
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Scheduled mirror starts',
          width: 12,
          height: 6,
          left: [
            group.metricAttempts({ ...sum, label: 'Attempts' }),
            group.metricTargetErrors({ ...sum, label: 'Target errors' }),
            group.metricDropped({ ...sum, label: 'Dropped' }),
            group.metricSentToDLQ({ ...sum, label: 'Sent to the dead-letter queue' }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: 'Mirror starts waiting in the dead-letter queue',
          width: 12,
          height: 6,
          left: [
            props.mirrors.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              statistic: cloudwatch.Stats.MAXIMUM,
              period: FIVE_MINUTES,
              label: 'Messages',
            }),
          ],
        }),
      );
    }
  }

  /**
   * An SNS topic with an e-mail subscription. CloudWatch cannot publish to a topic encrypted with the
   * AWS-managed aws/sns key, so it gets a customer-managed key whose policy lets this account's alarms use it.
   */
  private createAlarmTopic(email: string): sns.Topic {
    const stack = Stack.of(this);
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 's3-direct-transfer: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccountsAlarms,
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 's3-direct-transfer alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}
