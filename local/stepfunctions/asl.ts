/** Amazon States Language shapes and errors shared by the one-machine host and its Distributed Map adapter. */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One state of a definition, loosely typed: the host reads the fields it emulates and rejects the rest. */
export type StateDefinition = { Type: string; [field: string]: unknown };

/** A state machine definition, or an ItemProcessor / Iterator / Parallel branch. */
export interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, StateDefinition>;
  [field: string]: unknown;
}

/** How an execution (or a Map Run's child workflow execution) ended, with Step Functions' status names. */
export type ExecutionOutcome =
  | { Status: 'SUCCEEDED'; Output: JsonValue }
  | { Status: 'FAILED'; Error: string; Cause: string }
  | { Status: 'TIMED_OUT'; Error: string; Cause: string }
  | { Status: 'ABORTED' };

/** Step Functions' limit on a state's input or output and on an execution's input (256 KiB). */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** Longest Task timeout Node's timers can hold (setTimeout overflows past 2^31-1 ms); Map states have none. */
export const UNBOUNDED_TIMEOUT_SECONDS = 2_000_000;

/** The fields a Task and a Map state share besides Type, Retry and Catch: transitions and data paths. */
export const PATH_AND_TRANSITION_FIELDS = [
  'Comment',
  'Next',
  'End',
  'InputPath',
  'OutputPath',
  'ResultPath',
  'ResultSelector',
] as const;

/** An execution's ARN: its state machine's, with `execution` for `stateMachine`, and its name. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/** JSON round trip: what survives serialization between states (dates become strings, undefined goes). */
export function toJson(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An error as a state sees it: `name` is the Error that Retry/Catch `ErrorEquals` match, `message` the
 * Cause that a Catch puts in its output. aws-local-stepfunctions reads `isRetryable`/`isCatchable`
 * (defaulting to true) to let terminal errors such as States.DataLimitExceeded pass every retrier and catcher.
 */
export class StatesError extends Error {
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;

  constructor(error: string, cause: string, options: { terminal?: boolean } = {}) {
    super(cause);
    this.name = error;
    this.isRetryable = !options.terminal;
    this.isCatchable = !options.terminal;
  }
}

/** A definition the host cannot run faithfully; raised when the definition is loaded, before anything runs. */
export class UnsupportedDefinitionError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'UnsupportedDefinitionError';
  }
}

/** Fails loudly on any field outside `allowed`, so that nothing the host ignores passes silently. */
export function checkFields(
  where: string,
  object: Record<string, unknown>,
  allowed: readonly string[],
): void {
  const unknown = Object.keys(object).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new UnsupportedDefinitionError(
      where,
      `field(s) ${unknown.join(', ')} not supported by the local host (supported: ${allowed.join(', ')})`,
    );
  }
}

/** `arn:<partition>:states:::<service>:<action>` regardless of partition. */
export function isServiceIntegration(resource: unknown, serviceAction: string): boolean {
  return typeof resource === 'string' && /^arn:[a-z-]+:states:::/.test(resource)
    ? resource.replace(/^arn:[a-z-]+:states:::/, '') === serviceAction
    : false;
}
