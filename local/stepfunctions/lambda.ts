import { randomUUID } from 'node:crypto';
import {
  checkFields,
  isObject,
  isServiceIntegration,
  JsonValue,
  jsonBytes,
  PAYLOAD_LIMIT_BYTES,
  StateDefinition,
  StatesError,
  toJson,
  UnsupportedDefinitionError,
} from './asl';

/**
 * What a handler receives besides its event, as Lambda's Node.js runtime gives it: the request id, the
 * time left before the invocation is killed, and (the host's own) a signal aborted when it is killed.
 */
export interface LambdaContext {
  readonly awsRequestId: string;
  /** The function's ARN, as the state machine invoked it. */
  readonly invokedFunctionArn: string;
  /** Milliseconds left before the timeout; Number.MAX_SAFE_INTEGER for a function without one. */
  getRemainingTimeInMillis(): number;
  /**
   * Aborted when the invocation times out: a real sandbox is frozen then, so the handler must stop; what
   * it returns or throws afterwards is discarded. Never aborted for a function without a timeout.
   */
  readonly signal: AbortSignal;
}

/** A Lambda function's code as the host runs it: the event and the context in, the response out. */
export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown> | unknown;

/** What one execution (its child executions included) learns of the invocations it makes. */
export interface InvocationRecorder {
  /** An invocation of the function `arn` started. */
  invoked(arn: string): void;
  /** That invocation ended (or was killed) after `durationMs`, as Lambda bills it (whole ms, rounded up). */
  billed(arn: string, durationMs: number): void;
}

/** What a Task state needs to run locally: a function of its effective input (after Parameters). */
export type TaskHandler = (input: JsonValue, recorder: InvocationRecorder) => Promise<JsonValue>;

/** A registered function: its unqualified ARN, its code and its timeout (none: no deadline). */
export interface LocalFunction {
  readonly arn: string;
  readonly handler: LambdaHandler;
  readonly timeoutMs?: number;
}

const FUNCTION_ARN =
  /^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?$/;

function checkedArn(arn: string, what: string): RegExpExecArray {
  const match = FUNCTION_ARN.exec(arn);
  if (!match || match[2] !== undefined) {
    throw new Error(`${what} are keyed by unqualified Lambda function ARN, got ${arn}`);
  }
  return match;
}

/** Finds the function for a FunctionName in any form Lambda accepts: ARN, partial ARN or name, with a qualifier. */
export class LambdaFunctions {
  private readonly byArn = new Map<string, LocalFunction>();
  private readonly byName = new Map<string, LocalFunction[]>();

  constructor(handlers: Record<string, LambdaHandler>, timeoutsMs: Record<string, number> = {}) {
    for (const [arn, timeoutMs] of Object.entries(timeoutsMs)) {
      checkedArn(arn, 'function timeouts');
      if (!(arn in handlers)) throw new Error(`a timeout is given for ${arn}, which has no handler`);
      if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
        throw new Error(`the timeout of ${arn} must be a positive number of ms, got ${timeoutMs}`);
      }
    }
    for (const [arn, handler] of Object.entries(handlers)) {
      const match = checkedArn(arn, 'handlers');
      const fn: LocalFunction = { arn, handler, timeoutMs: timeoutsMs[arn] };
      this.byArn.set(arn, fn);
      this.byName.set(match[1], [...(this.byName.get(match[1]) ?? []), fn]);
    }
  }

  find(functionName: string): LocalFunction | undefined {
    const arn = FUNCTION_ARN.exec(functionName);
    if (arn) return this.byArn.get(functionName.split(':').slice(0, 7).join(':'));
    const name = functionName.replace(/^\d{12}:function:/, '').split(':')[0];
    const candidates = this.byName.get(name) ?? [];
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  get(functionName: string): LocalFunction {
    const fn = this.find(functionName);
    if (!fn) {
      throw new StatesError(
        'Lambda.ResourceNotFoundException',
        `Function not found: ${functionName} (no local handler is registered for it)`,
      );
    }
    return fn;
  }
}

/**
 * The error of an invocation that ran past its function's timeout, as Step Functions reports a Lambda
 * timeout of a Node.js runtime: Error `Sandbox.Timedout`, Cause the function error payload
 * `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after <n>.00 seconds"}`.
 * Retry and Catch match it by that name, or by States.TaskFailed and States.ALL.
 */
export function lambdaTimeoutError(requestId: string, timeoutMs: number): StatesError {
  const payload = {
    errorType: 'Sandbox.Timedout',
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
  };
  return new StatesError(payload.errorType, JSON.stringify(payload));
}

const elapsedMs = (since: number): number => Math.ceil(performance.now() - since);

/**
 * Runs a function as the Lambda service would: the event and the response travel as JSON, and a thrown
 * error becomes a function error whose Step Functions Error is `errorType` (the error's name) and whose
 * Cause is the JSON error payload `{ errorType, errorMessage, trace }`. Past its timeout the invocation
 * fails at once with {@link lambdaTimeoutError} and its context's signal is aborted; the handler is not
 * waited for, and whatever it returns or throws afterwards is discarded.
 */
export async function invokeFunction(
  fn: LocalFunction,
  event: JsonValue,
  recorder: InvocationRecorder,
  requestId: string = randomUUID(),
): Promise<JsonValue> {
  const controller = new AbortController();
  const started = performance.now();
  const deadline = fn.timeoutMs === undefined ? undefined : started + fn.timeoutMs;
  const context: LambdaContext = {
    awsRequestId: requestId,
    invokedFunctionArn: fn.arn,
    getRemainingTimeInMillis: () =>
      deadline === undefined
        ? Number.MAX_SAFE_INTEGER
        : Math.max(0, Math.floor(deadline - performance.now())),
    signal: controller.signal,
  };
  recorder.invoked(fn.arn);
  const running = (async () => fn.handler(toJson(event), context))();
  let timer: NodeJS.Timeout | undefined;
  let timedOut: StatesError | undefined;
  const killed = new Promise<never>((_, reject) => {
    if (fn.timeoutMs === undefined) return;
    const timeoutMs = fn.timeoutMs;
    timer = setTimeout(() => {
      timedOut = lambdaTimeoutError(requestId, timeoutMs);
      controller.abort(new DOMException(`Task timed out after ${timeoutMs} ms`, 'TimeoutError'));
      reject(timedOut);
    }, timeoutMs);
  });
  // A killed handler's late rejection is nobody's.
  running.catch(() => undefined);
  let response: unknown;
  try {
    response = await Promise.race([running, killed]);
  } catch (error) {
    if (timedOut !== undefined && error === timedOut) {
      recorder.billed(fn.arn, fn.timeoutMs!);
      throw error;
    }
    recorder.billed(fn.arn, elapsedMs(started));
    const payload =
      error instanceof Error
        ? { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') }
        : { errorType: 'Error', errorMessage: String(error) };
    throw new StatesError(payload.errorType, JSON.stringify(payload));
  } finally {
    clearTimeout(timer);
  }
  recorder.billed(fn.arn, elapsedMs(started));
  return toJson(response);
}

/** Rejects a task result that real Step Functions would refuse to pass on (a terminal error). */
function checkResultSize(stateName: string, result: JsonValue): JsonValue {
  const bytes = jsonBytes(result);
  if (bytes > PAYLOAD_LIMIT_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${PAYLOAD_LIMIT_BYTES}).`,
      { terminal: true },
    );
  }
  return result;
}

const INVOKE_PARAMETERS = ['FunctionName', 'Payload', 'Qualifier', 'InvocationType'];

/**
 * The local handler of a Task state that invokes Lambda, or undefined when the Task uses another resource.
 * - `arn:aws:states:::lambda:invoke`: the effective input is `{ FunctionName, Payload, ... }` and the
 *   result is the Invoke response `{ ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode }`.
 * - a function ARN as Resource (payloadResponseOnly): the effective input is the event, the result the response.
 */
export function lambdaTaskHandler(
  stateName: string,
  state: StateDefinition,
  functions: LambdaFunctions,
): TaskHandler | undefined {
  const where = `Task state '${stateName}'`;
  const resource = state.Resource;
  if (typeof resource === 'string' && FUNCTION_ARN.test(resource)) {
    const fn = functions.find(resource);
    if (!fn) throw new UnsupportedDefinitionError(where, `no local handler for function ${resource}`);
    return async (input, recorder) => checkResultSize(stateName, await invokeFunction(fn, input, recorder));
  }
  if (!isServiceIntegration(resource, 'lambda:invoke')) return undefined;

  const parameters = state.Parameters;
  if (!isObject(parameters)) throw new UnsupportedDefinitionError(where, 'lambda:invoke without Parameters');
  checkFields(
    `${where} Parameters`,
    Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k.replace(/\.\$$/, ''), v])),
    INVOKE_PARAMETERS,
  );
  if ('InvocationType' in parameters && parameters.InvocationType !== 'RequestResponse') {
    throw new UnsupportedDefinitionError(where, 'only InvocationType RequestResponse is emulated');
  }
  if (typeof parameters.FunctionName === 'string' && !functions.find(parameters.FunctionName)) {
    throw new UnsupportedDefinitionError(where, `no local handler for function ${parameters.FunctionName}`);
  }
  return async (input, recorder) => {
    if (!isObject(input) || typeof input.FunctionName !== 'string') {
      throw new StatesError('States.Runtime', `${where}: lambda:invoke needs a string FunctionName`, {
        terminal: true,
      });
    }
    const qualified = typeof input.Qualifier === 'string' ? `${input.FunctionName}:${input.Qualifier}` : '';
    const fn = functions.get(qualified || input.FunctionName);
    const requestId = randomUUID();
    const event = input.Payload === undefined ? {} : input.Payload;
    const payload = await invokeFunction(fn, event, recorder, requestId);
    const headers = {
      'Content-Type': 'application/json',
      'X-Amz-Executed-Version': '$LATEST',
      'x-amzn-RequestId': requestId,
    };
    return checkResultSize(stateName, {
      ExecutedVersion: '$LATEST',
      Payload: payload,
      SdkHttpMetadata: {
        AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        HttpHeaders: headers,
        HttpStatusCode: 200,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: 200,
    });
  };
}
