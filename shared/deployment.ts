/**
 * Names the deployed stack shares with its clients, their one home. Kept free of imports so that the
 * CLI can find the state machine without loading aws-cdk-lib.
 */

/** The stack's name: `s3-direct-transfer start` finds the state machine by its outputs. */
export const STACK_NAME = 'S3DirectTransfer';

/** Stack output holding the state machine's ARN. */
export const STATE_MACHINE_ARN_OUTPUT = 'StateMachineArn';
/** Stack outputs `start` reads: the token parameter path and the credentials endpoint allowlist. */
export const TOKEN_PARAMETER_PATH_OUTPUT = 'TokenParameterPath';
export const CREDENTIALS_ENDPOINTS_OUTPUT = 'CredentialsEndpoints';
/** Stack output holding the staging bucket's name. */
export const STAGING_BUCKET_OUTPUT = 'StagingBucketName';
/** Stack output holding the CloudWatch dashboard's name (when there is one). */
export const DASHBOARD_OUTPUT = 'DashboardName';
/** Stack outputs of the mirrors (when there are some): their schedule group and dead-letter queue. */
export const MIRROR_SCHEDULE_GROUP_OUTPUT = 'MirrorScheduleGroup';
export const MIRRORS_DEAD_LETTER_QUEUE_OUTPUT = 'MirrorsDeadLetterQueueUrl';
