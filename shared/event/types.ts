/** The validated event (the input of the state machine, of `run` and of schedules), as the code uses it. */
/** One object. */
export interface KeySource {
  readonly Bucket: string;
  readonly Key: string;
}
/** Every object under a prefix, filtered by globs matched against the key relative to the prefix. */
export interface PrefixSource {
  readonly Bucket: string;
  readonly Prefix: string;
  readonly Include?: readonly string[];
  readonly Exclude?: readonly string[];
}
/** A list of objects. */
export interface KeysSource {
  readonly Bucket: string;
  readonly Keys: readonly string[];
}
/** Narrow with `'Key' in source`, `'Prefix' in source`, `'Keys' in source`. */
export type SourceSpec = KeySource | PrefixSource | KeysSource;

export interface DestSpec {
  readonly Bucket: string;
  /** New key of the single `Source.Key` object (rename). Never together with `Prefix`. */
  readonly Key?: string;
  /** Prepended to the key relative to `Source.Prefix` (or to the whole key for Key/Keys sources). */
  readonly Prefix?: string;
}

export interface TransferOptions {
  readonly Sync: boolean;
  readonly DryRun: boolean;
  /** Delete destination objects under the mapped prefix that the source no longer has (Sync, prefix-type source). */
  readonly Delete: boolean;
  /** With Delete: the run fails with TooManyDeletes, deleting nothing, when it would delete more. */
  readonly MaxDeletes: number;
}

/** Exactly one way to authenticate to the credentials endpoint. */
export type EventAuthFields =
  | { readonly BearerToken: string }
  | { readonly BearerTokenParameter: string }
  | { readonly JwtCookie: string };

export type TransferEvent = {
  readonly CredentialsEndpoint: string;
  readonly AppName?: string;
  readonly Source: SourceSpec;
  readonly Dest: DestSpec;
  readonly Options: TransferOptions;
} & EventAuthFields;

export type EventAuth =
  | { kind: 'bearer'; token: string }
  | { kind: 'bearer-parameter'; name: string }
  | { kind: 'cookie'; jwt: string };
