import { ErrorName } from '../../shared/errors';

/** Errors that are about the whole run (token, credentials endpoint): thrown for Retry/Catch. */
export const SYSTEMIC_ERRORS: ReadonlySet<string> = new Set([
  ErrorName.AuthenticationFailed,
  ErrorName.EulaNotAccepted,
  ErrorName.CredentialsForbidden,
  ErrorName.CredentialsEndpointError,
  ErrorName.TokenParameterError,
  ErrorName.InvalidInput,
]);

/** Rounds in a row without progress after which a unit's rest fails with `NoProgress`. */
export const NO_PROGRESS_ROUNDS = 3;

/**
 * The margins of an invocation with `initialRemainingMs` left: no unit of work starts with less than
 * `start` left, copies still running at `abort` are aborted, and the deadline is checked every
 * `checkEveryMs` (a fifth of the abort margin, at most 1 s: a check must not skip past the margin of a
 * short timeout). A short timeout (tests, `run --lambda-timeout`) scales them down rather than deferring
 * everything.
 */
export function deadlineMargins(
  initialRemainingMs: number,
  configured: { safetyMarginMs?: number; abortMarginMs?: number; watchdogIntervalMs?: number },
  defaultSafetyMs: number,
): { start: number; abort: number; checkEveryMs: number } {
  const start = Math.min(configured.safetyMarginMs ?? defaultSafetyMs, initialRemainingMs / 4);
  const abort = Math.min(configured.abortMarginMs ?? 10_000, start / 2);
  const checkEveryMs = configured.watchdogIntervalMs ?? Math.max(50, Math.min(1_000, abort / 5));
  return { start, abort, checkEveryMs };
}
