import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config';
import { TransferPipeline } from './transfer-pipeline';

/** The stack's name: `s3-direct-transfer start` finds the state machine by its outputs. */
export const STACK_NAME = 'S3DirectTransfer';

/** Stack output holding the state machine's ARN. */
export const STATE_MACHINE_ARN_OUTPUT = 'StateMachineArn';
/** Stack output holding the staging bucket's name. */
export const STAGING_BUCKET_OUTPUT = 'StagingBucketName';
/** Stack output holding the CloudWatch dashboard's name (when there is one). */
export const DASHBOARD_OUTPUT = 'DashboardName';
/** Stack outputs of the mirrors (when there are some): their schedule group and dead-letter queue. */
export const MIRROR_SCHEDULE_GROUP_OUTPUT = 'MirrorScheduleGroup';
export const MIRRORS_DEAD_LETTER_QUEUE_OUTPUT = 'MirrorsDeadLetterQueueUrl';

export interface TransferStackProps extends StackProps {
  /** Settings, usually from the CDK context (see config.ts). */
  readonly config: PipelineConfig;
}

/** The ready-made stack: one {@link TransferPipeline} configured from the CDK context. */
export class TransferStack extends Stack {
  readonly pipeline: TransferPipeline;

  constructor(scope: Construct, id: string, props: TransferStackProps) {
    super(scope, id, {
      description: 's3-direct-transfer: copy NASA Earthdata Cloud objects into your own buckets',
      ...props,
    });
    const { config } = props;
    this.pipeline = new TransferPipeline(this, 'Pipeline', {
      destinationBuckets: config.destinationBuckets.map((d) => ({ bucket: d.bucketName, prefix: d.prefix })),
      maxConcurrency: config.maxConcurrency,
      itemsPerBatch: config.itemsPerBatch,
      toleratedFailurePercentage: config.toleratedFailurePercentage,
      copyMemorySize: config.copyMemoryMb,
      copyTimeout: Duration.minutes(config.copyTimeoutMinutes),
      tokenParameterPath: config.tokenParameterPath,
      mirrors: config.mirrors,
      dashboard: config.dashboard,
      alarmEmail: config.alarmEmail,
    });
    new CfnOutput(this, STATE_MACHINE_ARN_OUTPUT, {
      value: this.pipeline.stateMachine.stateMachineArn,
      description: 'The transfer state machine (input: the transfer event)',
    });
    new CfnOutput(this, STAGING_BUCKET_OUTPUT, {
      value: this.pipeline.stagingBucket.bucketName,
      description: 'Run files and reports, under runs/<execution name>/',
    });
    const { monitoring, mirrorSchedules } = this.pipeline;
    if (monitoring.dashboard) {
      new CfnOutput(this, DASHBOARD_OUTPUT, {
        value: monitoring.dashboard.dashboardName,
        description: 'CloudWatch dashboard of the pipeline',
      });
    }
    if (mirrorSchedules) {
      new CfnOutput(this, MIRROR_SCHEDULE_GROUP_OUTPUT, {
        value: mirrorSchedules.group.scheduleGroupName,
        description: "EventBridge Scheduler group of the mirrors' schedules (named after the mirrors)",
      });
      new CfnOutput(this, MIRRORS_DEAD_LETTER_QUEUE_OUTPUT, {
        value: mirrorSchedules.deadLetterQueue.queueUrl,
        description: 'Scheduled runs that could not be started (their input and the error)',
      });
    }
  }
}
