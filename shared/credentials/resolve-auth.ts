import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { errorCode } from '../aws/sdk-errors';
import { ErrorName, TransferError } from '../errors';
import { redactText, registerSecret } from '../log';
import type { TeaAuth } from './tea-client';

/** The event's authentication fields: exactly one of them. */
export interface TokenSource {
  BearerToken?: string;
  BearerTokenParameter?: string;
  JwtCookie?: string;
}

export interface ResolveTokenOptions {
  /** @default Date.now */
  now?: () => number;
  /** How long a token read from SSM is reused in this container. @default 300000 (5 minutes) */
  ttlMs?: number;
}

const DEFAULT_TTL_MS = 5 * 60_000;

interface CachedParameter {
  readonly fetchedAt: number;
  readonly value: Promise<TeaAuth>;
}

// Per container: a warm Lambda reads the parameter once per TTL, concurrent invocations share a read.
const parameterCache = new Map<string, CachedParameter>();
let defaultSsm: SSMClient | undefined;

/** Forgets cached SSM parameter values. For tests. */
export function clearTokenCache(): void {
  parameterCache.clear();
}

function normalizeToken(value: string): string {
  // Tokens pasted with `aws ssm put-parameter --value file://...` end with a newline; some keep "Bearer ".
  return value.trim().replace(/^bearer\s+/i, '');
}

/** What a parameter holds: a bearer token, or an `asf-urs` cookie stored as `asf-urs=<jwt>`. */
export const COOKIE_PARAMETER_PREFIX = 'asf-urs=';

async function readParameter(name: string, ssm: SSMClient, region: string): Promise<TeaAuth> {
  let value: string | undefined;
  try {
    const output = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    value = output.Parameter?.Value;
    // A String parameter is readable by anyone with ssm:GetParameter and sits unencrypted in its history.
    if (output.Parameter?.Type !== 'SecureString') {
      throw new TransferError(
        ErrorName.TokenParameterError,
        `SSM parameter ${name} in region ${region} is a ${output.Parameter?.Type ?? 'parameter of unknown type'}, ` +
          'not a SecureString: store the token as a SecureString (aws ssm put-parameter --type SecureString ' +
          '--overwrite ...) and delete its old versions',
      );
    }
  } catch (error) {
    if (error instanceof TransferError) throw error;
    const code = errorCode(error);
    const detail = redactText(error instanceof Error ? error.message : String(error));
    const cause = new Error(`${code}: ${detail}`);
    if (code === 'ParameterNotFound' || code === 'ParameterVersionNotFound') {
      throw new TransferError(
        ErrorName.TokenParameterError,
        `SSM parameter ${name} not found in region ${region}: create it as a SecureString holding the Earthdata Login token, in the region the pipeline runs in`,
        { cause },
      );
    }
    if (
      code === 'AccessDeniedException' ||
      code === 'AccessDenied' ||
      /^KMS|kms:Decrypt/.test(`${code} ${detail}`)
    ) {
      throw new TransferError(
        ErrorName.TokenParameterError,
        `not allowed to read SSM parameter ${name} in region ${region}: the role needs ssm:GetParameter on ` +
          `arn:aws:ssm:${region}:<account>:parameter${name.startsWith('/') ? '' : '/'}${name} and kms:Decrypt on the ` +
          `KMS key that encrypts it (${code}: ${detail})`,
        { cause },
      );
    }
    if (code === 'InvalidKeyId') {
      throw new TransferError(
        ErrorName.TokenParameterError,
        `SSM parameter ${name} in region ${region} cannot be decrypted: its KMS key is disabled, deleted or invalid`,
        { cause },
      );
    }
    throw error;
  }
  const text = typeof value === 'string' ? value.trim() : '';
  const auth: TeaAuth = text.startsWith(COOKIE_PARAMETER_PREFIX)
    ? { kind: 'cookie', jwt: text.slice(COOKIE_PARAMETER_PREFIX.length).trim() }
    : { kind: 'bearer', token: normalizeToken(text) };
  const secret = auth.kind === 'bearer' ? auth.token : auth.jwt;
  if (secret.length === 0) {
    throw new TransferError(
      ErrorName.TokenParameterError,
      `SSM parameter ${name} in region ${region} is empty`,
    );
  }
  registerSecret(secret);
  return auth;
}

/**
 * Turns the event's authentication fields into a {@link TeaAuth}: an inline bearer token, an inline
 * `asf-urs` cookie, or what an SSM SecureString holds (cached per container for `ttlMs`): a bearer token,
 * or a cookie stored as `asf-urs=<jwt>`.
 * SSM failures are `TokenParameterError`s that say what is missing.
 */
export async function resolveTeaAuth(
  source: TokenSource,
  ssm?: SSMClient,
  options: ResolveTokenOptions = {},
): Promise<TeaAuth> {
  const given = (['BearerToken', 'BearerTokenParameter', 'JwtCookie'] as const).filter(
    (field) => source[field] !== undefined,
  );
  if (given.length !== 1) {
    throw new TransferError(
      ErrorName.InvalidInput,
      `exactly one of BearerToken, BearerTokenParameter, JwtCookie is required${given.length ? ` (got ${given.join(', ')})` : ''}`,
    );
  }
  const field = given[0];
  const raw = source[field];
  if (typeof raw !== 'string' || raw.trim().length === 0) {
    throw new TransferError(ErrorName.InvalidInput, `${field} must be a non-empty string`);
  }
  if (field === 'BearerToken') {
    const token = normalizeToken(raw);
    registerSecret(token);
    return { kind: 'bearer', token };
  }
  if (field === 'JwtCookie') {
    const jwt = raw.trim().replace(/^asf-urs=/, '');
    registerSecret(jwt);
    return { kind: 'cookie', jwt };
  }

  const name = raw.trim();
  const client = ssm ?? (defaultSsm ??= new SSMClient({}));
  const region = await client.config.region().catch(() => 'unknown');
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const key = `${region}\u0000${name}`;
  const cached = parameterCache.get(key);
  if (cached && now() - cached.fetchedAt < ttlMs) return cached.value;
  const entry: CachedParameter = { fetchedAt: now(), value: readParameter(name, client, region) };
  parameterCache.set(key, entry);
  try {
    return await entry.value;
  } catch (error) {
    // Failures are not cached: the next invocation asks again (someone may have fixed the parameter).
    if (parameterCache.get(key) === entry) parameterCache.delete(key);
    throw error;
  }
}
