// Commands load on use, by literal paths so that esbuild bundles them as lazily initialized modules:
// `--help` does not pay for the AWS SDK and the host.
/* eslint-disable @typescript-eslint/no-require-imports */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { RUN_DEFAULTS } from '../local/run-defaults';

/** Lambda's longest function timeout, in seconds: the bound of `run --lambda-timeout`. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

const EVENT_HELP = `
The event (JSON) is the state machine's input:
  { "CredentialsEndpoint": "https://archive.podaac.earthdata.nasa.gov/s3credentials",
    "BearerToken": "<EDL token>",
    "Source": { "Bucket": "podaac-ops-cumulus-protected", "Prefix": "MUR-JPL-L4-GLOB-v4.1/" },
    "Dest":   { "Bucket": "my-bucket", "Prefix": "mur/" },
    "Options": { "Sync": true } }
See docs/examples/ for every source form.`;

const RUN_HELP = `
Runs the whole pipeline in this process (the state machine synthesized from the CDK app) against real
endpoints: the event's CredentialsEndpoint for the source, S3 from the standard SDK configuration.
Destination credentials come from the default AWS credential chain. Progress goes to stderr, the result
JSON to stdout.

Environment:
  AWS_REGION                          region of both buckets (TEA credentials work in-region only)
  AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
                                      S3 endpoint override (path-style addressing is then used)
  AWS_PROFILE, AWS_ACCESS_KEY_ID, ... destination credentials (default chain)

The credentials endpoint must be an Earthdata Cloud host (https://*.earthdata.nasa.gov,
https://*.earthdatacloud.nasa.gov, https://*.asf.alaska.edu) or a loopback host on this machine.

Each copy invocation (a batch) is killed at the copy Lambda's timeout, as Lambda kills it: CopyBatch defers
what it cannot finish before it to another invocation. --lambda-timeout lowers that timeout to exercise
the deadlines on small data.

Ctrl-C aborts every copy in flight with its multipart upload, deletes the staged token, says what was
done and what was not, and exits 130; a second Ctrl-C does not cut that short. Run the same event with
"Options": { "Sync": true } to copy the rest.

Exit codes: 0 nothing failed, 1 some objects failed, 2 invalid event or rejected token, 130 Ctrl-C.

Examples:
  $ s3-direct-transfer run --event granule.json > result.json
  $ AWS_REGION=us-west-2 s3-direct-transfer run --event docs/examples/prefix.json
  $ cat event.json | s3-direct-transfer run --event -
  $ s3-direct-transfer run --event granule.json --lambda-timeout 10   # deadlines on small data
${EVENT_HELP}`;

const DEMO_HELP = `
Starts the embedded world on 127.0.0.1 (an S3 that checks signatures and expires session tokens as AWS
does, and a TEA credentials endpoint emulator issuing credentials that live 3 seconds, shorter than the
copy, so that it must refresh them), seeds a sample source bucket, runs the pipeline, verifies every
copy by sha256 and prints the result.

Examples:
  $ s3-direct-transfer demo
  $ s3-direct-transfer demo --keep      # leave the world running to try your own events
  $ s3-direct-transfer demo --keep --credential-lifetime 3600   # credentials that last, as TEA's do`;

const START_HELP = `
Validates the event locally (nothing is started when it is invalid, or when its credentials endpoint
is not on the deployment's allowlist, read from the stack's outputs), then starts an execution of the
deployed pipeline. An inline BearerToken or JwtCookie is stored first as the SSM SecureString
<tokenParameterPath>executions/<execution name> (it needs ssm:PutParameter there), and the execution is
started with BearerTokenParameter: no token is in its input or history, and the parameter is deleted
when the execution ends. The state machine is, in this order: --state-machine ARN; the output StateMachineArn
of --stack NAME; the environment variable S3_DIRECT_TRANSFER_STATE_MACHINE; the output StateMachineArn of
the stack S3DirectTransfer. The execution ARN and its console link go to stderr.

With --name, starting again is safe: a name already used reports (and with --wait follows) the execution
that holds it instead of starting another. With --wait, progress goes to stderr and the result JSON to
stdout; Ctrl-C stops the watching, not the execution, and prints the \`watch\` command that resumes it.

Environment:
  S3_DIRECT_TRANSFER_STATE_MACHINE    state machine ARN, when neither --state-machine nor --stack is given
  AWS_REGION                          region of the stack (the ARN's region is used for Step Functions)
  AWS_PROFILE, AWS_ACCESS_KEY_ID, ... credentials allowed to start and describe executions

Exit codes: without --wait, 0 once the execution exists; with --wait, 0 nothing failed, 1 some objects
failed or the execution failed, timed out or was stopped, 2 invalid event or rejected token; 2 also when
no state machine is found; 130 when Ctrl-C stops the watching.

Examples:
  $ s3-direct-transfer start --event granule.json --wait > result.json
  $ s3-direct-transfer start --event prefix.json --name mur-2024-06-01 --json
  $ s3-direct-transfer start --event event.json --stack MyTransferStack --wait
  $ S3_DIRECT_TRANSFER_STATE_MACHINE=arn:aws:states:us-west-2:123456789012:stateMachine:Transfer \\
      s3-direct-transfer start --event event.json
${EVENT_HELP}`;

const WATCH_HELP = `
Follows an execution of the deployed pipeline (started by \`start\`, a schedule or the console) until it
ends, as \`start --wait\` does: progress of the copy on stderr, the result JSON on stdout. Ctrl-C stops
the watching, not the execution.

Exit codes: 0 nothing failed, 1 some objects failed or the execution failed, timed out or was stopped,
2 invalid event or rejected token (or no such execution), 130 when Ctrl-C stops the watching.

Examples:
  $ s3-direct-transfer watch arn:aws:states:us-west-2:123456789012:execution:Transfer:mur-2024-06-01
  $ s3-direct-transfer watch "$EXECUTION_ARN" --quiet > result.json`;

export async function main(argv: string[]): Promise<number> {
  // stdout carries the result JSON: logs go to stderr, and only warnings unless asked for more.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.S3_DIRECT_TRANSFER_LOG_STREAM = 'stderr';
  let exitCode = 0;
  const program = new Command('s3-direct-transfer')
    .description('Copy NASA Earthdata Cloud objects into your own S3 buckets, surviving expiring credentials')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run the pipeline in this process against real endpoints')
    .requiredOption('--event <file>', "event JSON file ('-' for standard input)")
    .option(
      '--staging <dir>',
      'folder for the manifest, map results and report (default: a temporary folder)',
    )
    .addOption(
      new Option('--concurrency <n>', 'batches copied at once')
        .argParser(positiveInt('--concurrency'))
        .default(RUN_DEFAULTS.batches),
    )
    .addOption(
      new Option('--objects-per-batch-concurrency <n>', 'objects copied at once within a batch')
        .argParser(positiveInt('--objects-per-batch-concurrency'))
        .default(RUN_DEFAULTS.objectsPerBatch),
    )
    .addOption(
      new Option(
        '--lambda-timeout <seconds>',
        'timeout of each copy invocation in seconds, 1 to 900 (default: 900, the copy Lambda’s default timeout)',
      ).argParser(integerFrom('--lambda-timeout', 1, LAMBDA_MAX_TIMEOUT_SECONDS, 'seconds')),
    )
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', RUN_HELP)
    .action(async (options) => {
      const { runCommand } = require('./run') as typeof import('./run');
      exitCode = await runCommand(options);
    });

  program
    .command('demo')
    .description('run the pipeline against an embedded S3 and credentials emulator, and verify the copies')
    .option('--keep', 'leave the embedded world running and print its endpoints, keys and token')
    .addOption(
      new Option('--objects <n>', 'number of sample objects')
        .argParser(positiveInt('--objects'))
        .default(300),
    )
    .addOption(
      new Option('--credential-lifetime <seconds>', 'lifetime of the emulated TEA credentials')
        .argParser(positiveInt('--credential-lifetime'))
        .default(3),
    )
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', DEMO_HELP)
    .action(async (options) => {
      const { demoCommand } = require('./demo') as typeof import('./demo');
      exitCode = await demoCommand(options);
    });

  program
    .command('start')
    .description('start the deployed pipeline (Step Functions); with --wait, follow it to its end')
    .requiredOption('--event <file>', "event JSON file ('-' for standard input)")
    .addOption(new Option('--state-machine <arn>', 'state machine to start').conflicts('stack'))
    .option('--stack <name>', 'stack whose output StateMachineArn names it (default: S3DirectTransfer)')
    .option('--name <name>', 'execution name; starting again with it reports the existing execution')
    .option('--wait', 'show progress until the execution ends, then print the result JSON')
    .option('--json', 'without --wait, print { executionArn, startDate } on stdout')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', START_HELP)
    .action(async (options) => {
      const { startCommand } = require('./start') as typeof import('./start');
      exitCode = await startCommand(options);
    });

  program
    .command('watch')
    .description('follow an execution of the deployed pipeline until it ends, then print the result JSON')
    .argument('<execution-arn>', 'the execution, as `start` prints it')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', WATCH_HELP)
    .action(async (executionArn: string, options) => {
      const { watchCommand } = require('./watch') as typeof import('./watch');
      exitCode = await watchCommand(executionArn, options);
    });

  program.addHelpText(
    'after',
    `
Examples:
  $ s3-direct-transfer demo
  $ s3-direct-transfer run --event event.json > result.json
  $ s3-direct-transfer start --event event.json --wait > result.json
  $ s3-direct-transfer watch EXECUTION_ARN
  $ s3-direct-transfer run --help`,
  );

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors with 1: report them as 2 (bad input).
      return error.exitCode === 0 ? 0 : 2;
    }
    throw error;
  }
  return exitCode;
}

function integerFrom(flag: string, min: number, max: number, unit: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a whole number of ${unit} from ${min} to ${max}`);
    }
    return n;
  };
}

function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer`);
    return n;
  };
}
