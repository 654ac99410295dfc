/**
 * What `start` does with the token of an event before the event leaves this machine: checks that its
 * credentials endpoint is one the deployment allows, and moves an inline token into an SSM SecureString
 * named after the execution, so that no token is in the execution's input, its history, the console or
 * EventBridge events. The deployment's cleanup deletes the parameter when the execution ends.
 */
import { DeleteParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { checkCmrUrl, DEFAULT_CMR_URL } from '../shared/cmr';
import { checkEndpoint, DEFAULT_CREDENTIALS_ENDPOINTS } from '../shared/credentials/endpoint';
import { COOKIE_PARAMETER_PREFIX } from '../shared/credentials/resolve-auth';
import { CREDENTIALS_ENDPOINTS_OUTPUT, TOKEN_PARAMETER_PATH_OUTPUT } from '../shared/deployment';
import { executionTokenParameter } from '../shared/run-files';
import { CommandError } from './command-error';
import { ExitCode } from './exit-codes';

/** What `start` needs to know of the deployment it starts. */
export interface DeploymentSettings {
  readonly tokenParameterPath: string;
  readonly credentialsEndpoints: readonly string[];
  /** Where they came from, for the messages. */
  readonly from: string;
}

/** The stack's outputs when they were read, the deployment defaults otherwise. */
export function deploymentSettings(
  outputs: Record<string, string> | undefined,
  from: string,
): DeploymentSettings {
  const path = outputs?.[TOKEN_PARAMETER_PATH_OUTPUT];
  const endpoints = outputs?.[CREDENTIALS_ENDPOINTS_OUTPUT];
  return {
    tokenParameterPath: path || '/s3-direct-transfer/',
    credentialsEndpoints: endpoints ? endpoints.split(',').filter(Boolean) : DEFAULT_CREDENTIALS_ENDPOINTS,
    from: outputs ? from : 'the deployment defaults (the stack’s outputs could not be read)',
  };
}

/** Refuses an event whose endpoint the deployment would refuse: exit 2, nothing started or stored. */
export function checkEventEndpoint(event: Record<string, unknown>, settings: DeploymentSettings): void {
  const policy = { allowed: settings.credentialsEndpoints, allowLoopback: false };
  const source = event.Source as Record<string, unknown> | undefined;
  try {
    // A collection may leave its endpoint to its metadata (Plan checks that one); its CMR may get the token.
    if (source?.Collection !== undefined) {
      checkCmrUrl(typeof source.CmrUrl === 'string' ? source.CmrUrl : DEFAULT_CMR_URL, policy);
      if (event.CredentialsEndpoint === undefined) return;
    }
    checkEndpoint(String(event.CredentialsEndpoint), policy);
  } catch (error) {
    const e = error as Error;
    throw new CommandError(e.name, `${e.message} (allowlist of ${settings.from})`, ExitCode.CallerError);
  }
}

/** An event whose token went into a parameter, and how to take it back if the start fails. */
export interface CustodyOfToken {
  /** The event as the execution gets it: BearerTokenParameter, never the token. */
  readonly input: Record<string, unknown>;
  /** The parameter created, if the event held its token inline. */
  readonly parameter?: string;
  /** Deletes the parameter (the start failed). */
  undo(): Promise<void>;
}

/** The input the execution gets for `event`: an inline token replaced by the parameter that holds it. */
export function executionInput(
  event: Record<string, unknown>,
  executionName: string,
  settings: DeploymentSettings,
): Record<string, unknown> {
  const { BearerToken: bearer, JwtCookie: cookie, ...rest } = event;
  if (typeof bearer !== 'string' && typeof cookie !== 'string') return event;
  return {
    ...rest,
    BearerTokenParameter: executionTokenParameter(settings.tokenParameterPath, executionName),
  };
}

/**
 * Moves an inline `BearerToken` (or `JwtCookie`, stored as `asf-urs=<jwt>`) into the SecureString
 * `<tokenParameterPath>executions/<executionName>`; an event that names a parameter already is unchanged.
 */
export async function takeCustodyOfToken(
  event: Record<string, unknown>,
  executionName: string,
  settings: DeploymentSettings,
  ssm: () => SSMClient,
): Promise<CustodyOfToken> {
  const { BearerToken: bearer, JwtCookie: cookie } = event;
  const input = executionInput(event, executionName, settings);
  if (input === event) return { input, undo: async () => undefined };
  const jwt = String(cookie)
    .trim()
    .replace(/^asf-urs=/, '');
  const value = typeof bearer === 'string' ? bearer.trim() : `${COOKIE_PARAMETER_PREFIX}${jwt}`;
  const parameter = input.BearerTokenParameter as string;
  const client = ssm();
  try {
    await client.send(
      new PutParameterCommand({
        Name: parameter,
        Value: value,
        Type: 'SecureString',
        // A parameter left by a start that failed before its execution existed.
        Overwrite: true,
        Description: `s3-direct-transfer: the token of execution ${executionName}; deleted when it ends`,
      }),
    );
  } catch (error) {
    const e = error as Error;
    throw new CommandError(
      e.name,
      `could not store the event's token as the SSM SecureString ${parameter} (${e.message}); ` +
        'starting needs ssm:PutParameter on it (and kms:Encrypt on the aws/ssm key), or give the event a ' +
        'BearerTokenParameter of your own',
      ExitCode.CallerError,
    );
  }
  return {
    input,
    parameter,
    undo: async () => {
      await client.send(new DeleteParameterCommand({ Name: parameter })).catch(() => undefined);
    },
  };
}
