import type * as logs from 'aws-cdk-lib/aws-logs';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PipelineFunction } from '../pipeline-function';
import type { StagingBucket } from '../staging-bucket';
import { retryLambdaServiceErrors } from './common';

export interface SummarizeStepProps {
  readonly staging: StagingBucket;
  readonly logRetention: logs.RetentionDays;
  /** The deployment a dry run's estimate is for (functions/summarize/estimate.ts). */
  readonly estimate: { maxConcurrency: number; copyMemoryMb: number; copyTimeoutSeconds: number };
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
      logRetention: props.logRetention,
      environment: {
        STAGING_BUCKET: props.staging.bucket.bucketName,
        MAX_CONCURRENCY: String(props.estimate.maxConcurrency),
        COPY_MEMORY_MB: String(props.estimate.copyMemoryMb),
        COPY_TIMEOUT_SECONDS: String(props.estimate.copyTimeoutSeconds),
      },
    });
    props.staging.grantSummarize(this.function.role);

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
