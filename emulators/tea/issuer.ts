/** Temporary credentials as the emulated TEA endpoint hands them out. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/**
 * Mints session credentials for the credentials emulator. The embedded S3 gateway implements it, so
 * that the credentials it issues are the ones it accepts (read-only, source buckets) and expires.
 */
export interface CredentialIssuer {
  issue(lifetimeSeconds: number, sessionName: string): Promise<IssuedCredentials> | IssuedCredentials;
}
