/**
 * What a run may do with its caller's token: which credentials endpoints may receive it, and whether it
 * may arrive inline in the event. A deployed pipeline is strict; the one-machine runner is the user's
 * own process and also allows loopback endpoints and inline tokens.
 */
import {
  DEFAULT_CREDENTIALS_ENDPOINTS,
  parseEndpointPattern,
  type EndpointPolicy,
} from './credentials/endpoint';
import { listEnv } from './lambda-env';

export interface RunPolicy {
  readonly endpoints: EndpointPolicy;
  /** Accept `BearerToken` / `JwtCookie` in the event (they then stay in the execution's history). */
  readonly allowInlineTokens: boolean;
  /**
   * Accept `Options.Delete` (a mirror's deletions): a deployment does when the stack grants the copy
   * role s3:DeleteObject (`allowMirrorDeletes`). @default true
   */
  readonly allowMirrorDeletes?: boolean;
}

/** `run`, `demo` and tests: the archives' endpoints, loopback, inline tokens. */
export const ONE_MACHINE_POLICY: RunPolicy = {
  endpoints: { allowed: DEFAULT_CREDENTIALS_ENDPOINTS, allowLoopback: true },
  allowInlineTokens: true,
};

/** A deployment with its defaults: the archives' endpoints only, tokens from SSM only. */
export const DEPLOYED_RUN_POLICY: RunPolicy = {
  endpoints: { allowed: DEFAULT_CREDENTIALS_ENDPOINTS, allowLoopback: false },
  allowInlineTokens: false,
  allowMirrorDeletes: false,
};

/**
 * A deployed Lambda's policy, as the stack sets it: `CREDENTIALS_ENDPOINTS` (comma-separated entries,
 * see {@link parseEndpointPattern}; unset: the defaults), `ALLOW_INLINE_TOKENS` and `ALLOW_MIRROR_DELETES`
 * (`true` to accept).
 */
export function runPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RunPolicy {
  const allowed = listEnv('CREDENTIALS_ENDPOINTS', env) ?? DEFAULT_CREDENTIALS_ENDPOINTS;
  allowed.forEach(parseEndpointPattern);
  return {
    endpoints: { allowed, allowLoopback: false },
    allowInlineTokens: env.ALLOW_INLINE_TOKENS === 'true',
    allowMirrorDeletes: env.ALLOW_MIRROR_DELETES === 'true',
  };
}
