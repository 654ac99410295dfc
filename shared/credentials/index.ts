export { parseExpiration } from './expiration';
export {
  checkEndpoint,
  DEFAULT_CREDENTIALS_ENDPOINTS,
  describeEndpoint,
  endpointRefusal,
  isLoopbackHost,
  parseEndpointPattern,
  type EndpointPolicy,
} from './endpoint';
export {
  fetchTeaCredentials,
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
