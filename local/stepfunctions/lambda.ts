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

/** A Lambda function's code as the host runs it: the event in, the response out (no Lambda context). */
export type LambdaHandler = (event: unknown) => Promise<unknown> | unknown;

/** What a Task state needs to run locally: a function of its effective input (after Parameters). */
export type TaskHandler = (input: JsonValue) => Promise<JsonValue>;

const FUNCTION_ARN =
  /^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?$/;

/** Finds the handler for a FunctionName in any form Lambda accepts: ARN, partial ARN or name, with a qualifier. */
export class LambdaFunctions {
  private readonly byArn = new Map<string, LambdaHandler>();
  private readonly byName = new Map<string, LambdaHandler[]>();

  constructor(handlers: Record<string, LambdaHandler>) {
    for (const [arn, handler] of Object.entries(handlers)) {
      const match = FUNCTION_ARN.exec(arn);
      if (!match || match[2] !== undefined) {
        throw new Error(`handlers are keyed by unqualified Lambda function ARN, got ${arn}`);
      }
      this.byArn.set(arn, handler);
      this.byName.set(match[1], [...(this.byName.get(match[1]) ?? []), handler]);
    }
  }

  find(functionName: string): LambdaHandler | undefined {
    const arn = FUNCTION_ARN.exec(functionName);
    if (arn) return this.byArn.get(functionName.split(':').slice(0, 7).join(':'));
    const name = functionName.replace(/^\d{12}:function:/, '').split(':')[0];
    const candidates = this.byName.get(name) ?? [];
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  get(functionName: string): LambdaHandler {
    const handler = this.find(functionName);
    if (!handler) {
      throw new StatesError(
        'Lambda.ResourceNotFoundException',
        `Function not found: ${functionName} (no local handler is registered for it)`,
      );
    }
    return handler;
  }
}

/**
 * Runs a handler as the Lambda service would: the event and the response travel as JSON, and a thrown
 * error becomes a function error whose Step Functions Error is `errorType` (the error's name) and whose
 * Cause is the JSON error payload `{ errorType, errorMessage, trace }`.
 */
export async function invokeFunction(handler: LambdaHandler, event: JsonValue): Promise<JsonValue> {
  let response: unknown;
  try {
    response = await handler(toJson(event));
  } catch (error) {
    const payload =
      error instanceof Error
        ? { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') }
        : { errorType: 'Error', errorMessage: String(error) };
    throw new StatesError(payload.errorType, JSON.stringify(payload));
  }
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
    const handler = functions.find(resource);
    if (!handler) throw new UnsupportedDefinitionError(where, `no local handler for function ${resource}`);
    return async (input) => checkResultSize(stateName, await invokeFunction(handler, input));
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
  return async (input) => {
    if (!isObject(input) || typeof input.FunctionName !== 'string') {
      throw new StatesError('States.Runtime', `${where}: lambda:invoke needs a string FunctionName`, {
        terminal: true,
      });
    }
    const qualified = typeof input.Qualifier === 'string' ? `${input.FunctionName}:${input.Qualifier}` : '';
    const handler = functions.get(qualified || input.FunctionName);
    const payload = await invokeFunction(handler, input.Payload === undefined ? {} : input.Payload);
    const requestId = randomUUID();
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
