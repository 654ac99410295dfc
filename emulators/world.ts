import { randomBytes } from 'node:crypto';
import { EmbeddedS3, type FaultSettings } from './s3/server';
import { startTeaEmulator, type ExpirationFormat, type TeaEmulator } from './tea/emulator';

export interface EmbeddedWorldOptions {
  /** @default ['source-bucket'] */
  sourceBuckets?: string[];
  /** @default ['destination-bucket'] */
  destinationBuckets?: string[];
  /** Lifetime of the credentials the emulator issues. @default 3600 */
  credentialLifetimeSeconds?: number;
  /** @default 'python' (TEA's `2021-01-27 00:50:09+00:00`) */
  expirationFormat?: ExpirationFormat;
  /** @default 'aws' (400 ExpiredToken); 'ceph' answers 403 AccessDenied as Ceph RGW does */
  expiredTokenStyle?: 'aws' | 'ceph';
  /** @default a fresh random token */
  token?: string;
  /** Fixed ports (e.g. for `demo --keep`); @default 0, any free port */
  s3Port?: number;
  teaPort?: number;
  region?: string;
}

/**
 * The embedded world: an S3 that checks signatures and expires session tokens as AWS does, and a
 * TEA credentials endpoint whose credentials are minted by that S3 (read-only, source buckets only).
 */
export class EmbeddedWorld {
  private constructor(
    readonly s3: EmbeddedS3,
    readonly tea: TeaEmulator,
    /** The Earthdata Login token the emulator accepts. */
    readonly token: string,
    readonly sourceBuckets: string[],
    readonly destinationBuckets: string[],
  ) {}

  static async start(options: EmbeddedWorldOptions = {}): Promise<EmbeddedWorld> {
    const sourceBuckets = options.sourceBuckets ?? ['source-bucket'];
    const destinationBuckets = options.destinationBuckets ?? ['destination-bucket'];
    const token = options.token ?? `EDL-${randomBytes(24).toString('base64url')}`;
    const s3 = await EmbeddedS3.start({
      sourceBuckets,
      destinationBuckets,
      port: options.s3Port,
      region: options.region,
      expiredTokenStyle: options.expiredTokenStyle,
    });
    try {
      const tea = await startTeaEmulator({
        tokens: [token],
        issuer: s3,
        port: options.teaPort,
        lifetimeSeconds: options.credentialLifetimeSeconds ?? 3600,
        expirationFormat: options.expirationFormat ?? 'python',
      });
      return new EmbeddedWorld(s3, tea, token, sourceBuckets, destinationBuckets);
    } catch (error) {
      await s3.stop();
      throw error;
    }
  }

  get credentialsEndpoint(): string {
    return this.tea.url;
  }

  get faults(): FaultSettings {
    return this.s3.faults;
  }

  /**
   * Environment for a process that copies in this world with the standard SDK configuration:
   * `AWS_ENDPOINT_URL_S3` and the destination key pair as the default credential chain.
   */
  processEnv(): Record<string, string> {
    return {
      AWS_REGION: this.s3.region,
      AWS_ENDPOINT_URL_S3: this.s3.endpoint,
      AWS_ACCESS_KEY_ID: this.s3.destinationCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.s3.destinationCredentials.secretAccessKey,
    };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.tea.close(), this.s3.stop()]);
  }
}
