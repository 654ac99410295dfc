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
