import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import { acknowledgeWildcardResources } from '../nag-acknowledgments';

/** Errors of the Lambda service itself (not of the function's code): always worth retrying. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
];

/** Retries Lambda service errors and throttling with exponential backoff and full jitter. */
export function retryLambdaServiceErrors(task: sfn.TaskStateBase, maxAttempts = 6): void {
  task.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/**
 * Lets a role read the token parameters (SecureStrings) under `path`, and decrypt them through SSM only.
 */
export function grantTokenParameterRead(scope: IConstruct, role: iam.IRole, path: string): void {
  const stack = Stack.of(scope);
  const parameters = stack.formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: `${path.replace(/^\//, '')}*`,
  });
  const keys = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadTokenParameters',
      actions: ['ssm:GetParameter'],
      resources: [parameters],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DecryptTokenParametersViaSsm',
      actions: ['kms:Decrypt'],
      resources: [keys],
      // Only to decrypt a parameter under the path: SSM names the parameter in the encryption context.
      conditions: {
        StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameters },
      },
    }),
  );
  acknowledgeWildcardResources(
    role,
    [parameters],
    'Token parameters are named by the caller at run time (BearerTokenParameter): any under the configured path.',
  );
  acknowledgeWildcardResources(
    role,
    [keys],
    "A SecureString may use the account's aws/ssm key or a customer key: any key, but only through SSM " +
      '(kms:ViaService condition).',
  );
}

/** A destination bucket the pipeline may write, optionally only under a key prefix. */
export interface Destination {
  readonly bucket: s3.IBucket;
  readonly prefix?: string;
}

/**
 * Lets a role list the configured destinations (`s3:ListBucket`), under their prefixes only: the copy
 * role for its Sync checks, Plan's role for the destination listing of a Sync plan. The statements are
 * named `sids.whole` (whole buckets) and `<sids.prefix><n>` (one per destination prefix).
 */
export function grantListDestinations(
  role: iam.IRole,
  destinations: readonly Destination[],
  sids: { readonly whole: string; readonly prefix: string },
): void {
  const whole = destinations.filter((d) => !d.prefix);
  if (whole.length > 0) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: sids.whole,
        actions: ['s3:ListBucket'],
        resources: whole.map((d) => d.bucket.bucketArn),
      }),
    );
  }
  destinations
    .filter((d) => d.prefix)
    .forEach((d, i) =>
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: `${sids.prefix}${i}`,
          actions: ['s3:ListBucket'],
          resources: [d.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${d.prefix}*`] } },
        }),
      ),
    );
}
