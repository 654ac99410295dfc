/**
 * Names the deployed stack shares with its clients. Kept free of imports so that the CLI can find the
 * state machine without loading aws-cdk-lib; infra/stack.ts defines the same names (a test checks).
 */

/** The stack's name: `s3-direct-transfer start` finds the state machine by its outputs. */
export const STACK_NAME = 'S3DirectTransfer';

/** Stack output holding the state machine's ARN. */
export const STATE_MACHINE_ARN_OUTPUT = 'StateMachineArn';
