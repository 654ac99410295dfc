import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config';
import {
  CREDENTIALS_ENDPOINTS_OUTPUT,
  DASHBOARD_OUTPUT,
  MIRROR_SCHEDULE_GROUP_OUTPUT,
  MIRRORS_DEAD_LETTER_QUEUE_OUTPUT,
  STAGING_BUCKET_OUTPUT,
  STATE_MACHINE_ARN_OUTPUT,
  TOKEN_PARAMETER_PATH_OUTPUT,
} from '../shared/deployment';
import { TransferPipeline } from './transfer-pipeline';

export { STACK_NAME } from '../shared/deployment';

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
      objectsPerPack: config.objectsPerPack,
      partFanOutBytes: config.partFanOutBytes,
      toleratedFailurePercentage: config.toleratedFailurePercentage,
      copyMemorySize: config.copyMemoryMb,
      copyTimeout: Duration.minutes(config.copyTimeoutMinutes),
      tokenParameterPath: config.tokenParameterPath,
      mirrors: config.mirrors,
      dashboard: config.dashboard,
      alarmEmail: config.alarmEmail,
      credentialsEndpoints: config.credentialsEndpoints,
      allowInlineTokens: config.allowInlineTokens,
      allowMirrorDeletes: config.allowMirrorDeletes,
      executionTimeout: Duration.seconds(config.executionTimeout),
      destinationBucketOwner: config.destinationBucketOwner,
      destinationKmsKeys: config.destinationKmsKeys,
    });
    new CfnOutput(this, STATE_MACHINE_ARN_OUTPUT, {
      value: this.pipeline.stateMachine.stateMachineArn,
      description: 'The transfer state machine (input: the transfer event)',
    });
    new CfnOutput(this, TOKEN_PARAMETER_PATH_OUTPUT, {
      value: config.tokenParameterPath,
      description: 'Where token parameters live (start stores an inline token under <path>executions/)',
    });
    new CfnOutput(this, CREDENTIALS_ENDPOINTS_OUTPUT, {
      value: this.pipeline.credentialsEndpoints.join(','),
      description: 'The credentials endpoints the pipeline may send a token to',
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
