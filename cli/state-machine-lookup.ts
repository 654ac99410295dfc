import {
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type CloudFormationClient,
} from '@aws-sdk/client-cloudformation';
import { STACK_NAME, STATE_MACHINE_ARN_OUTPUT } from '../shared/deployment';
import { callWithBackoff, type Sleep } from './aws-calls';
import { CommandError } from './command-error';
import { ExitCode } from './exit-codes';
import { parseStateMachineArn } from './execution-arn';

/** Environment variable naming the state machine when `--state-machine` is not given. */
export const STATE_MACHINE_ENV = 'S3_DIRECT_TRANSFER_STATE_MACHINE';

export interface StateMachineLookupOptions {
  /** `--state-machine ARN` */
  stateMachine?: string;
  /** `--stack NAME` */
  stack?: string;
  env: NodeJS.ProcessEnv;
  /** Made only when the stack's outputs are needed. */
  cloudFormation: () => CloudFormationClient;
  sleep: Sleep;
}

export interface FoundStateMachine {
  arn: string;
  /** Where the ARN came from, for the messages. */
  from: string;
  /** The outputs of its stack, when they were read. */
  outputs?: Record<string, string>;
}

const HOW_TO_NAME_ONE =
  `Name the state machine with one of: --state-machine ARN; the environment variable ${STATE_MACHINE_ENV}=ARN; ` +
  `--stack NAME of a deployed s3-direct-transfer stack (default ${STACK_NAME}; deploy one with ` +
  '`npx cdk deploy`, see docs/deploy.md).';

/**
 * The state machine to start: `--state-machine`, else `--stack`'s output, else the environment variable,
 * else the output of the default stack. An explicit flag wins over the environment.
 */
export async function findStateMachine(options: StateMachineLookupOptions): Promise<FoundStateMachine> {
  if (options.stateMachine !== undefined) {
    parseStateMachineArn(options.stateMachine, '--state-machine');
    return { arn: options.stateMachine.trim(), from: '--state-machine' };
  }
  const fromEnv = options.env[STATE_MACHINE_ENV]?.trim();
  if (options.stack === undefined && fromEnv) {
    parseStateMachineArn(fromEnv, STATE_MACHINE_ENV);
    return { arn: fromEnv, from: STATE_MACHINE_ENV };
  }
  const stackName = options.stack ?? STACK_NAME;
  const outputs = await stackOutputs(options.cloudFormation(), stackName, options.sleep);
  const arn = outputs[STATE_MACHINE_ARN_OUTPUT];
  parseStateMachineArn(arn, `the output ${STATE_MACHINE_ARN_OUTPUT} of the stack ${stackName}`);
  return { arn, from: `the stack ${stackName}`, outputs };
}

/**
 * The outputs of the stack that holds a state machine given by ARN, or undefined when they cannot be
 * read (no permission, a state machine deployed otherwise): the caller then uses the defaults.
 */
export async function outputsOfStateMachineStack(
  client: CloudFormationClient,
  stateMachineArn: string,
  sleep: Sleep,
): Promise<Record<string, string> | undefined> {
  try {
    const { StackResources: resources } = await callWithBackoff(
      () => client.send(new DescribeStackResourcesCommand({ PhysicalResourceId: stateMachineArn })),
      { sleep },
    );
    const stackName = resources?.[0]?.StackName;
    return stackName ? await stackOutputs(client, stackName, sleep) : undefined;
  } catch {
    return undefined;
  }
}

async function stackOutputs(
  client: CloudFormationClient,
  stackName: string,
  sleep: Sleep,
): Promise<Record<string, string>> {
  const region = await client.config.region().catch(() => undefined);
  const where = region ? ` in ${region}` : '';
  let stacks;
  try {
    ({ Stacks: stacks } = await callWithBackoff(
      () => client.send(new DescribeStacksCommand({ StackName: stackName })),
      { sleep },
    ));
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ValidationError' && /does not exist/i.test(e.message)) {
      throw notFound(`the stack ${stackName} does not exist${where}.`);
    }
    if (!region && /region is missing/i.test(e.message)) {
      throw notFound(`no AWS region is configured to look up the stack ${stackName}: set AWS_REGION.`);
    }
    throw error;
  }
  const stack = stacks?.[0];
  if (!stack) throw notFound(`the stack ${stackName} does not exist${where}.`);
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).flatMap((o) =>
      o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
    ),
  );
  if (!outputs[STATE_MACHINE_ARN_OUTPUT]) {
    throw notFound(
      `the stack ${stackName}${where} (${stack.StackStatus ?? 'status unknown'}) has no output ` +
        `${STATE_MACHINE_ARN_OUTPUT}: it is not an s3-direct-transfer stack, or its deployment is not complete.`,
    );
  }
  return outputs;
}

function notFound(what: string): CommandError {
  return new CommandError('StateMachineNotFound', `${what} ${HOW_TO_NAME_ONE}`, ExitCode.CallerError);
}
