import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EXECUTION_END_STATUSES } from '../shared/contracts';
import { acknowledgeDeadLetterQueue, acknowledgeWildcardResources } from './nag-acknowledgments';
import { PipelineFunction } from './pipeline-function';
import type { StagingBucket } from './staging-bucket';

export interface RunCleanupProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly staging: StagingBucket;
  readonly tokenParameterPath: string;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Deletes an execution's token as soon as the execution ends, whichever way it ends: an EventBridge rule
 * on the state machine's status changes (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) invokes a small Lambda
 * that deletes the staged token and the SSM parameter `s3-direct-transfer start` stored the token in.
 * Summarize deletes the staged token too, but Summarize does not run after StopExecution, a timeout, or a
 * failure the state machine does not catch.
 */
export class RunCleanup extends Construct {
  readonly function: PipelineFunction;
  readonly rule: events.Rule;
  /** Status changes the Lambda could not handle after EventBridge's retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: RunCleanupProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Lambda', {
      entry: 'functions/cleanup/handler.ts',
      description: 'Cleanup: delete the token of an execution that ended',
      memorySize: 256,
      timeout: Duration.minutes(1),
      logRetention: props.logRetention,
      environment: {
        STAGING_BUCKET: props.staging.bucket.bucketName,
        TOKEN_PARAMETER_PATH: props.tokenParameterPath,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      },
    });
    const role = this.function.role;
    props.staging.grantDeleteStagedTokens(role);
    const parameters = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: `${props.tokenParameterPath.replace(/^\//, '')}executions/*`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteExecutionTokenParameters',
        actions: ['ssm:DeleteParameter'],
        resources: [parameters],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [parameters],
      'Deletes the token parameter `start` created for an execution that ended, named after the execution.',
    );

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, "the cleanup rule's Lambda target");
    this.rule = new events.Rule(this, 'ExecutionEnded', {
      description: 's3-direct-transfer: an execution ended; delete its token',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          status: [...EXECUTION_END_STATUSES],
        },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.function.function, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );
  }
}
