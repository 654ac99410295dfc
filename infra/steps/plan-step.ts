import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CALLER_ERRORS, ErrorName } from '../../shared/errors';
import { unitSettingsEnv, type UnitSettings } from '../../shared/units';
import { PipelineFunction } from '../pipeline-function';
import type { StagingBucket } from '../staging-bucket';
import {
  grantListDestinations,
  grantTokenParameterRead,
  retryLambdaServiceErrors,
  type Destination,
} from './common';

export interface PlanStepProps {
  readonly staging: StagingBucket;
  readonly tokenParameterPath: string;
  readonly logRetention: logs.RetentionDays;
  /** The credentials endpoints a token may be sent to. */
  readonly credentialsEndpoints: readonly string[];
  /** Accept tokens inline in the event (they stay in the execution's history). */
  readonly allowInlineTokens: boolean;
  /** Accept `Options.Delete` (the copy role may delete in the destinations). @default false */
  readonly allowMirrorDeletes?: boolean;
  /** How Plan cuts the job into units. */
  readonly units: UnitSettings;
  /** The destinations: Plan lists them (and may do nothing else there) to plan a Sync from both listings. */
  readonly destinations: readonly Destination[];
}

/**
 * Errors Plan throws on purpose, with a message written for the person who started the run. They end
 * the execution in `PlanFailed` with that message as the Cause (transient ones after their retries).
 */
export const PLAN_FAILURES = [
  ...CALLER_ERRORS,
  ErrorName.SourceNotFound,
  ErrorName.SourceAccessDenied,
  ErrorName.CredentialsEndpointError,
  ErrorName.TransientError,
  // Sync from both listings: Plan may not list the destination, a listing out of key order, or more
  // deletions than Options.MaxDeletes (the run stops before deleting anything).
  ErrorName.DestinationAccessDenied,
  ErrorName.KeyOrderError,
  ErrorName.TooManyDeletes,
];

/**
 * `Plan`: validates the event, fetches the TEA credentials, lists the source into the JSONL manifest and
 * stages the token. Its output replaces the state (`{ Plan: PlanOutput }`), so the event, which may hold
 * a token, travels no further than this state's input.
 */
export class PlanStep extends Construct {
  readonly function: PipelineFunction;
  /** The first state; continue with `.next()`. */
  readonly task: tasks.LambdaInvoke;

  constructor(scope: Construct, id: string, props: PlanStepProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Lambda', {
      entry: 'functions/plan/handler.ts',
      description: 'Plan: validate the event, list the source, write the manifest',
      logRetention: props.logRetention,
      environment: {
        STAGING_BUCKET: props.staging.bucket.bucketName,
        TOKEN_PARAMETER_PATH: props.tokenParameterPath,
        TOKEN_KMS_KEY_ID: props.staging.tokenKey.keyArn,
        CREDENTIALS_ENDPOINTS: props.credentialsEndpoints.join(','),
        ALLOW_INLINE_TOKENS: String(props.allowInlineTokens),
        ALLOW_MIRROR_DELETES: String(props.allowMirrorDeletes ?? false),
        ...unitSettingsEnv(props.units),
      },
    });
    const role = this.function.role;
    props.staging.grantPlan(role);
    grantTokenParameterRead(this, role, props.tokenParameterPath);
    grantListDestinations(role, props.destinations, {
      whole: 'ListDestinationsForSync',
      prefix: 'ListDestinationPrefixForSync',
    });

    this.task = new tasks.LambdaInvoke(this, 'Plan', {
      stateName: 'Plan',
      comment: 'Validate the event, fetch credentials, list the source into the manifest, stage the token',
      lambdaFunction: this.function.function,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        Event: sfn.JsonPath.entirePayload,
        Execution: { Name: sfn.JsonPath.executionName },
      }),
      resultSelector: { Plan: sfn.JsonPath.entirePayload },
      retryOnServiceExceptions: false,
    });
    retryLambdaServiceErrors(this.task);
    this.task.addRetry({
      errors: [ErrorName.CredentialsEndpointError, ErrorName.TransientError],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 3,
      jitterStrategy: sfn.JitterType.FULL,
    });

    // A Lambda error's Cause is a JSON document ({ errorType, errorMessage, trace }): keep the message.
    // ResultPath $ drops the event (and any token in it) from what the failure path carries.
    const describe = new sfn.Pass(this, 'DescribePlanError', {
      stateName: 'DescribePlanError',
      parameters: {
        Error: sfn.JsonPath.stringAt('$.Error'),
        Cause: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.Cause')),
      },
    });
    const fail = new sfn.Fail(this, 'PlanFailed', {
      stateName: 'PlanFailed',
      comment: 'The event, the token or the source was rejected: the Cause says why',
      errorPath: '$.Error',
      causePath: '$.Cause.errorMessage',
    });
    this.task.addCatch(describe.next(fail), { errors: PLAN_FAILURES, resultPath: '$' });
  }
}
