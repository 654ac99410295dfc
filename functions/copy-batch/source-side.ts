import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { BatchInput, TokenReference } from '../../shared/contracts';
import { copyClientConfig } from '../../shared/aws/s3-config';
import {
  getRefreshingCredentials,
  resolveTeaAuth,
  type RefreshingCredentials,
  type RefreshingCredentialsOptions,
  type TeaAuth,
} from '../../shared/credentials';
import { ErrorName, TransferError } from '../../shared/errors';
import { registerSecret } from '../../shared/log';
import type { StagingStore } from '../../shared/staging';
import type { SourceSide } from './copy-batch';

export interface SourceSideOptions {
  /** Reads `bearer-parameter` tokens. */
  ssm?: SSMClient;
  /** Reads `staged` tokens (with the function's own role) from a bucket. */
  staging?: (bucket: string) => StagingStore;
  /** Region, endpoint and path-style for the source client. */
  s3Config?: S3ClientConfig;
  credentialsOptions?: RefreshingCredentialsOptions;
}

/** Turns a token reference into TEA authentication, reading it where it was put. */
export async function resolveTokenReference(
  token: TokenReference,
  options: SourceSideOptions,
): Promise<TeaAuth> {
  const asAuth = (kind: 'bearer' | 'cookie', value: string): TeaAuth => {
    const trimmed =
      kind === 'bearer' ? value.trim().replace(/^bearer\s+/i, '') : value.trim().replace(/^asf-urs=/, '');
    if (trimmed === '') throw new TransferError(ErrorName.TokenParameterError, 'the staged token is empty');
    registerSecret(trimmed);
    return kind === 'bearer' ? { kind, token: trimmed } : { kind, jwt: trimmed };
  };
  switch (token?.Kind) {
    case 'bearer-parameter':
      return resolveTeaAuth({ BearerTokenParameter: token.Parameter }, options.ssm);
    case 'staged': {
      if (!options.staging) throw new Error('no staging store to read the staged token from');
      let value: string | undefined;
      try {
        value = await options.staging(token.Bucket).getText(token.Key);
      } catch (error) {
        throw new TransferError(
          ErrorName.TokenParameterError,
          `cannot read the staged token s3://${token.Bucket}/${token.Key}: ${(error as Error).name}`,
        );
      }
      if (value === undefined) {
        throw new TransferError(
          ErrorName.TokenParameterError,
          `the staged token s3://${token.Bucket}/${token.Key} is gone (the run was summarized or cleaned up)`,
        );
      }
      return asAuth(token.TokenKind, value);
    }
    default:
      throw new TransferError(
        ErrorName.InvalidInput,
        'CopyBatch input: BatchInput.Token has an unknown Kind',
      );
  }
}

// Per container: one source client per credentials instance (itself cached per endpoint and token).
const clients = new WeakMap<RefreshingCredentials, S3Client>();

/**
 * The source side of a batch: TEA credentials for its endpoint and token (cached per container, refreshed
 * before expiry and on expiry errors) and an S3 client that reads with them. Fetches the credentials
 * once, so that a bad token fails here, before any object starts.
 */
export async function sourceSideFor(batch: BatchInput, options: SourceSideOptions): Promise<SourceSide> {
  const auth = await resolveTokenReference(batch.Token, options);
  const credentials = getRefreshingCredentials(
    { endpoint: batch.CredentialsEndpoint, auth, appName: batch.AppName },
    options.credentialsOptions,
  );
  await credentials.provider();
  let client = clients.get(credentials);
  if (!client) {
    client = new S3Client({ ...options.s3Config, ...copyClientConfig(), credentials: credentials.provider });
    clients.set(credentials, client);
  }
  return { client, credentials };
}
