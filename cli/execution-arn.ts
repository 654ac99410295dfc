import { CommandError } from './command-error';
import { ExitCode } from './exit-codes';

/** The parts of a Step Functions ARN that the CLI needs. */
export interface StatesArn {
  partition: string;
  region: string;
  account: string;
  stateMachineName: string;
}

export interface ExecutionArnParts extends StatesArn {
  executionName: string;
}

const STATE_MACHINE_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([^:\s]+)$/;
const EXECUTION_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):execution:([^:\s]+):([^:\s]+)$/;

/** Parses `arn:aws:states:<region>:<account>:stateMachine:<name>`; exit 2 when it is not one. */
export function parseStateMachineArn(arn: string, from: string): StatesArn {
  const m = STATE_MACHINE_ARN.exec(arn.trim());
  if (!m) {
    throw new CommandError(
      'InvalidArn',
      `${from} is not a state machine ARN (expected arn:aws:states:<region>:<account>:stateMachine:<name>)`,
      ExitCode.CallerError,
    );
  }
  return { partition: m[1], region: m[2], account: m[3], stateMachineName: m[4] };
}

/** Parses `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`; exit 2 when it is not one. */
export function parseExecutionArn(arn: string): ExecutionArnParts {
  const m = EXECUTION_ARN.exec(arn.trim());
  if (!m) {
    throw new CommandError(
      'InvalidArn',
      'EXECUTION_ARN is not an execution ARN ' +
        '(expected arn:aws:states:<region>:<account>:execution:<state machine>:<name>)',
      ExitCode.CallerError,
    );
  }
  return { partition: m[1], region: m[2], account: m[3], stateMachineName: m[4], executionName: m[5] };
}

/** The ARN Step Functions gives the execution named `name` of a state machine. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  const { partition, region, account, stateMachineName } = parseStateMachineArn(
    stateMachineArn,
    'the state machine ARN',
  );
  return `arn:${partition}:states:${region}:${account}:execution:${stateMachineName}:${name}`;
}

const CONSOLE_HOSTS: Record<string, (region: string) => string> = {
  aws: (region) => `${region}.console.aws.amazon.com`,
  'aws-us-gov': (region) => `${region}.console.amazonaws-us-gov.com`,
  'aws-cn': (region) => `${region}.console.amazonaws.cn`,
};

/** The execution's page in the Step Functions console. */
export function executionConsoleUrl(executionArn: string): string {
  const { partition, region } = parseExecutionArn(executionArn);
  const host = (CONSOLE_HOSTS[partition] ?? CONSOLE_HOSTS.aws)(region);
  return `https://${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
