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

/** A CMR collection: by concept id, or by short name and version (and provider, when several match). */
export type CollectionRef =
  | { readonly ConceptId: string }
  | { readonly ShortName: string; readonly Version: string; readonly Provider?: string };

/**
 * The files of a CMR collection's granules, found through CMR's search API: each file's `s3://` URL
 * names its bucket and key. Include/Exclude match the file name (the key's last segment).
 */
export interface CollectionSource {
  readonly Collection: CollectionRef;
  /** CMR's search root. Defaulted to the production CMR. */
  readonly CmrUrl: string;
  /** Only these GranuleURs. */
  readonly Granules?: readonly string[];
  /** Granules whose time range overlaps [start, end], both UTC `yyyy-MM-ddTHH:mm:ssZ`. */
  readonly Temporal?: readonly [string, string];
  /** Granules whose area intersects [West, South, East, North] (degrees; West > East crosses 180°). */
  readonly BoundingBox?: readonly [number, number, number, number];
  readonly Include?: readonly string[];
  readonly Exclude?: readonly string[];
}

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

interface EventCommon {
  readonly AppName?: string;
  readonly Dest: DestSpec;
  readonly Options: TransferOptions;
}

/** An event whose source is a bucket's objects (Key, Prefix or Keys). */
export type TransferEvent = EventCommon & {
  readonly CredentialsEndpoint: string;
  readonly Source: SourceSpec;
} & EventAuthFields;

/**
 * An event whose source is a CMR collection. `CredentialsEndpoint` may be left to the collection's
 * metadata (UMM-C `DirectDistributionInformation.S3CredentialsAPIEndpoint`).
 */
export type CollectionTransferEvent = EventCommon & {
  readonly CredentialsEndpoint?: string;
  readonly Source: CollectionSource;
} & EventAuthFields;

/** Any valid event. Narrow with {@link isCollectionEvent}. */
export type AnyTransferEvent = TransferEvent | CollectionTransferEvent;

export const isCollectionEvent = (event: AnyTransferEvent): event is CollectionTransferEvent =>
  'Collection' in event.Source;

export type EventAuth =
  | { kind: 'bearer'; token: string }
  | { kind: 'bearer-parameter'; name: string }
  | { kind: 'cookie'; jwt: string };
