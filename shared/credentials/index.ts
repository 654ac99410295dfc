export { describeEndpoint, isLoopbackHost } from './endpoint';
export {
  fetchTeaCredentials,
  parseExpiration,
  type CredentialsLog,
  type TeaAuth,
  type TeaCredentials,
  type TeaFetchOptions,
  type TeaRequest,
} from './tea-client';
export { clearTokenCache, resolveTeaAuth, type ResolveTokenOptions, type TokenSource } from './resolve-auth';
export {
  RefreshingCredentials,
  clearRefreshingCredentialsCache,
  getRefreshingCredentials,
  type RefreshingCredentialsOptions,
  type SessionCredentials,
  type SessionCredentialsProvider,
} from './refreshing';
export {
  EXPIRY_SKEW_MS,
  isCredentialExpiryError,
  withCredentialRefresh,
  type CredentialRefreshOptions,
} from './expiry';
