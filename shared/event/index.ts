export {
  DEFAULT_MAX_DELETES,
  DELETE_SOURCE_FORMS,
  eventAuth,
  MAX_SOURCE_KEYS,
  parseAnyEvent,
  parseEvent,
  transferEventSchema,
  type TransferEventInput,
} from './schema';
export { MAX_GRANULES, parseInstant } from './collection';
export { formatIssues, formatPath } from './messages';
export { isCollectionEvent } from './types';
export type {
  AnyTransferEvent,
  CollectionRef,
  CollectionSource,
  CollectionTransferEvent,
  DestSpec,
  EventAuth,
  EventAuthFields,
  KeySource,
  KeysSource,
  PrefixSource,
  SourceSpec,
  TransferEvent,
  TransferOptions,
} from './types';
