export {
  DEFAULT_MAX_DELETES,
  DELETE_SOURCE_FORMS,
  eventAuth,
  MAX_SOURCE_KEYS,
  parseEvent,
  transferEventSchema,
  type TransferEventInput,
} from './schema';
export { formatIssues, formatPath } from './messages';
export type {
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
