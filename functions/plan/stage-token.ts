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
  /** Let the token travel inline (the one-machine host only). */
  readonly inline: boolean;
  /** Write the staged token; false in a dry run (nothing will read it). */
  readonly stage: boolean;
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
  if (options.inline && options.stage) return { Kind: 'inline', TokenKind: tokenKind, Value: value };
  const key = stagedTokenKey(options.runId);
  if (options.stage) await staging.put(key, value, { contentType: 'text/plain' });
  return { Kind: 'staged', Bucket: staging.bucket, Key: key, TokenKind: tokenKind };
}
