import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from '../nag-acknowledgments';
import { PipelineFunction } from '../pipeline-function';
import { RUNS_PREFIX, retryLambdaServiceErrors } from './common';

export interface SummarizeStepProps {
  readonly stagingBucket: s3.IBucket;
  readonly logRetention: logs.RetentionDays;
}

/**
 * `Summarize`: reads the map run's results (or nothing, when the map was skipped), writes the report
 * and deletes the staged token. Its input is the whole state, `{ Plan, Map? }`; its output, the
 * execution's, is exactly the result contract.
 */
export class SummarizeStep extends Construct {
  readonly function: PipelineFunction;
  readonly task: tasks.LambdaInvoke;

  constructor(scope: Construct, id: string, props: SummarizeStepProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Lambda', {
      entry: 'functions/summarize/handler.ts',
      description: 'Summarize: aggregate the map results into the result and the report',
      memorySize: 1024,
      timeout: Duration.minutes(15),
      logRetention: props.logRetention,
      environment: { STAGING_BUCKET: props.stagingBucket.bucketName },
    });
    const role = this.function.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteRunFiles',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        resources: [props.stagingBucket.arnForObjects(`${RUNS_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListRunFiles',
        actions: ['s3:ListBucket'],
        resources: [props.stagingBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] } },
      }),
    );
    acknowledgeWildcardResources(
      role,
      [props.stagingBucket.arnForObjects(`${RUNS_PREFIX}*`)],
      "Summarize reads a run's manifest and map results, writes its report and deletes its staged token, " +
        'all under runs/<execution name>/, known at run time.',
    );

    this.task = new tasks.LambdaInvoke(this, 'Summarize', {
      stateName: 'Summarize',
      comment: 'Aggregate the results into the result contract; write the report; delete the staged token',
      lambdaFunction: this.function.function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    retryLambdaServiceErrors(this.task);
  }
}
