import type { TokenReference } from '../../shared/contracts';
import type { TeaAuth } from '../../shared/credentials';
import type { EventAuth } from '../../shared/event';
import { stagedTokenKey } from '../../shared/run-files';
import type { StagingStore } from '../../shared/staging';

export interface TokenReferenceOptions {
  readonly eventAuth: EventAuth;
  /** The token as resolved (normalized) for the credentials endpoint. */
  readonly teaAuth: TeaAuth;
  readonly staging: StagingStore;
  readonly runId: string;
  /** Write the staged token; false in a dry run (nothing will read it). */
  readonly stage: boolean;
  /** KMS key to encrypt the staged token with. */
  readonly kmsKeyId?: string;
}

/**
 * How CopyBatch finds the token without it appearing in any state output: the SSM parameter's name,
 * or the staging object the token is written to (the raw token, UTF-8, no newline).
 */
export async function tokenReference(options: TokenReferenceOptions): Promise<TokenReference> {
  const { eventAuth, teaAuth, staging } = options;
  if (eventAuth.kind === 'bearer-parameter') return { Kind: 'bearer-parameter', Parameter: eventAuth.name };
  const tokenKind = teaAuth.kind;
  const value = teaAuth.kind === 'bearer' ? teaAuth.token : teaAuth.jwt;
  const key = stagedTokenKey(options.runId);
  if (options.stage) {
    // Exclusive: a run never replaces another run's token.
    await staging.put(key, value, { contentType: 'text/plain', exclusive: true, kmsKeyId: options.kmsKeyId });
  }
  return { Kind: 'staged', Bucket: staging.bucket, Key: key, TokenKind: tokenKind };
}
