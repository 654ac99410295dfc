import { errorCodes, httpStatus } from '../aws/sdk-errors';
import type { RefreshingCredentials } from './refreshing';

/** Codes that always mean "this session token is no longer good". */
const EXPIRY_CODES: ReadonlySet<string> = new Set([
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'ExpiredTokenException',
]);

/** Codes that mean expiry only when they arrive after (or just before) the cached expiry: Ceph RGW. */
const DENIAL_CODES: ReadonlySet<string> = new Set(['AccessDenied', 'InvalidAccessKeyId', 'Forbidden']);

/** A 403 with no body (HEAD) or an unmodelled one: the SDK's generic names for it. */
const GENERIC_NAMES: ReadonlySet<string> = new Set(['UnknownError', 'Forbidden', '403', 'Error']);

/** Clock skew allowance: S3 may reject a credential a little before our clock says it expires. */
export const EXPIRY_SKEW_MS = 5_000;

/**
 * True when `error` means the temporary credentials expired: `ExpiredToken` and friends always;
 * `AccessDenied`, `InvalidAccessKeyId` or a bare 403 only when `expiresAt` is known and `now` is within
 * {@link EXPIRY_SKEW_MS} of it or past it. Reads `name`, `Code`, `code` and `$metadata.httpStatusCode`.
 */
export function isCredentialExpiryError(error: unknown, now: number, expiresAt?: number): boolean {
  const codes = errorCodes(error);
  if (codes.some((code) => EXPIRY_CODES.has(code))) return true;
  const denied =
    codes.some((code) => DENIAL_CODES.has(code)) ||
    (httpStatus(error) === 403 && codes.every((code) => GENERIC_NAMES.has(code)));
  return denied && expiresAt !== undefined && now >= expiresAt - EXPIRY_SKEW_MS;
}

export interface CredentialRefreshOptions {
  /** Refresh-and-retry rounds after expiry errors. @default 2 */
  maxRefreshes?: number;
}

/**
 * Runs `operation`; when it fails with a credential expiry error, invalidates the credentials it ran
 * with, fetches new ones and runs it again, at most `maxRefreshes` times. Other errors pass through.
 * The operation must get its credentials from `credentials.provider` (directly or via an SDK client).
 */
export async function withCredentialRefresh<T>(
  credentials: RefreshingCredentials,
  operation: () => Promise<T>,
  options: CredentialRefreshOptions = {},
): Promise<T> {
  const maxRefreshes = options.maxRefreshes ?? 2;
  for (let round = 0; ; round++) {
    // Nothing cached yet: the operation will run with the first credentials, generation 1.
    const generation = credentials.generation || 1;
    const startExpiresAt = credentials.expiresAt;
    try {
      return await operation();
    } catch (error) {
      // If another caller refreshed meanwhile, the request may have been signed with the credentials
      // this attempt started with: judge a denial against their expiry, not the new one.
      const expiresAt =
        credentials.generation !== generation && startExpiresAt !== undefined
          ? startExpiresAt
          : credentials.expiresAt;
      if (round >= maxRefreshes || !isCredentialExpiryError(error, credentials.now(), expiresAt)) {
        throw error;
      }
      // Only the credentials this attempt started with: parallel parts failing together refresh once.
      credentials.invalidate(generation);
      await credentials.provider();
    }
  }
}
