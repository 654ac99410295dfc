import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Mirror } from './mirrors-file';
import { acknowledgeDeadLetterQueue } from '../nag-acknowledgments';

export interface MirrorSchedulesProps {
  /** The pipeline the schedules start. */
  readonly stateMachine: sfn.IStateMachine;
  /** Validated mirrors (see `validateMirrors`). */
  readonly mirrors: readonly Mirror[];
  /**
   * How many times EventBridge Scheduler retries a StartExecution that failed (throttled, service error).
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * How long after the scheduled time a start may still be attempted; after it, the start goes to the
   * dead-letter queue.
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;
}

/**
 * One EventBridge Scheduler schedule per mirror, in a schedule group of their own, each starting the
 * state machine with the mirror's event as input. Starts that still fail after the retries go to an
 * encrypted dead-letter queue (an alarm watches it).
 *
 * The schedules share one role: every mirror needs exactly the same permission (StartExecution on this
 * state machine), so a role per mirror would isolate nothing; its trust is limited to schedules in this
 * group of this account.
 */
export class MirrorSchedules extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly role: iam.Role;
  /** StartExecution calls that failed after the retries, with the error and the mirror's input. */
  readonly deadLetterQueue: sqs.Queue;
  /** By mirror name. */
  readonly schedules: Readonly<Record<string, scheduler.Schedule>>;

  constructor(scope: Construct, id: string, props: MirrorSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.group = new scheduler.ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', {
      description: 'EventBridge Scheduler: start the transfer pipeline for its mirrors (s3-direct-transfer)',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': this.group.scheduleGroupArn,
          },
        },
      }),
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, "the mirrors' EventBridge Scheduler targets");

    const schedules: Record<string, scheduler.Schedule> = {};
    for (const mirror of props.mirrors) {
      const schedule = new scheduler.Schedule(this, `Mirror-${mirror.name}`, {
        scheduleName: mirror.name,
        scheduleGroup: this.group,
        description: mirror.description ?? `s3-direct-transfer mirror ${mirror.name}`,
        schedule: scheduler.ScheduleExpression.expression(
          mirror.schedule,
          mirror.timezone === undefined ? undefined : TimeZone.of(mirror.timezone),
        ),
        enabled: mirror.enabled,
        timeWindow:
          mirror.flexibleWindowMinutes > 0
            ? scheduler.TimeWindow.flexible(Duration.minutes(mirror.flexibleWindowMinutes))
            : scheduler.TimeWindow.off(),
        target: new targets.StepFunctionsStartExecution(props.stateMachine, {
          role: this.role,
          input: scheduler.ScheduleTargetInput.fromObject(mirror.event),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 10,
          maxEventAge: props.maxEventAge ?? Duration.hours(1),
        }),
      });
      // The group is named, not referenced: without this, CloudFormation may create the schedule first.
      schedule.node.addDependency(this.group);
      schedules[mirror.name] = schedule;
    }
    this.schedules = schedules;
  }
}
