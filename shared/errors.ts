/**
 * Named errors. `error.name` is the contract: Step Functions Retry/Catch match it exactly,
 * the CLI maps it to exit codes, and reports show it as `Error`.
 */
export const ErrorName = {
  InvalidInput: 'InvalidInput',
  AuthenticationFailed: 'AuthenticationFailed',
  EulaNotAccepted: 'EulaNotAccepted',
  CredentialsForbidden: 'CredentialsForbidden',
  CredentialsEndpointError: 'CredentialsEndpointError',
  TokenParameterError: 'TokenParameterError',
  /** NASA's CMR failed or gave an unusable answer while a collection source was searched. */
  CmrError: 'CmrError',
  SourceNotFound: 'SourceNotFound',
  SourceChanged: 'SourceChanged',
  SourceAccessDenied: 'SourceAccessDenied',
  DestinationAccessDenied: 'DestinationAccessDenied',
  DestinationNotFound: 'DestinationNotFound',
  IntegrityError: 'IntegrityError',
  TransientError: 'TransientError',
  CopyFailed: 'CopyFailed',
  /** A unit that finished nothing for several rounds in a row (see functions/copy-batch). */
  NoProgress: 'NoProgress',
  /** A giant object's multipart upload lacks parts when the Map has ended (a range never reported). */
  MissingParts: 'MissingParts',
  /** A Sync run would delete more than `Options.MaxDeletes`: it stopped before deleting anything. */
  TooManyDeletes: 'TooManyDeletes',
  /** A listing (or the key mapping) out of S3's key order: the two listings cannot be paired safely. */
  KeyOrderError: 'KeyOrderError',
} as const;

export type ErrorNameValue = (typeof ErrorName)[keyof typeof ErrorName];

/** An error whose `name` is one of {@link ErrorName}. */
export class TransferError extends Error {
  constructor(name: ErrorNameValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

export const invalidInput = (message: string): TransferError =>
  new TransferError(ErrorName.InvalidInput, message);

/** Errors that mean "the caller's event or token is wrong": the CLI exits 2, the state machine fails fast. */
export const CALLER_ERRORS: ReadonlySet<string> = new Set([
  ErrorName.InvalidInput,
  ErrorName.AuthenticationFailed,
  ErrorName.EulaNotAccepted,
  ErrorName.CredentialsForbidden,
  ErrorName.TokenParameterError,
]);

const KNOWN_NAMES: ReadonlySet<string> = new Set(Object.values(ErrorName));

/** True for errors that already carry one of the product's names (credentials errors included). */
export function isTransferError(error: unknown): error is Error {
  return error instanceof Error && KNOWN_NAMES.has(error.name);
}

/**
 * What a person wants to read of a Step Functions Cause: a Lambda error's Cause is the JSON document
 * `{"errorType","errorMessage","trace"}`, a Fail state's may be plain text.
 */
export function describeCause(cause: string | undefined): string | undefined {
  if (cause === undefined || cause === '') return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown } | null;
    if (parsed && typeof parsed === 'object' && typeof parsed.errorMessage === 'string') {
      return parsed.errorMessage;
    }
  } catch {
    // plain text
  }
  return cause;
}

export function isNamed(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
