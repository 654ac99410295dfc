/**
 * The keys the embedded S3 accepts: an admin and a destination key pair (static), and session
 * credentials it issues itself (the TEA emulator hands them out) that expire as STS sessions do.
 */
import { randomBytes } from 'node:crypto';
import type { IssuedCredentials } from '../tea/issuer';
import { S3Error } from './errors';
import type { ParsedAuth } from './sigv4';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Structurally the SDK's AwsCredentialIdentity. */
export interface CredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type CredentialKind = 'admin' | 'destination' | 'issued' | 'anonymous';

/** Who made a request; `auth` and `signingKey` are kept for the chunk signatures of its body. */
export interface Principal {
  kind: CredentialKind;
  accessKeyId?: string;
  auth?: ParsedAuth;
  signingKey?: Buffer;
}

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  sessionName: string;
}

function randomKeyId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(16);
  let out = prefix;
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}
function randomSecret(): string {
  return randomBytes(30)
    .toString('base64')
    .replace(/[+/]/g, (c) => (c === '+' ? 'x' : 'y'));
}

export class CredentialStore {
  readonly admin: StaticCredentials = { accessKeyId: randomKeyId('AKIA'), secretAccessKey: randomSecret() };
  readonly destination: StaticCredentials = {
    accessKeyId: randomKeyId('AKIA'),
    secretAccessKey: randomSecret(),
  };
  private readonly sessions = new Map<string, Session>();
  private readonly staticKeys = new Map<string, { secret: string; kind: 'admin' | 'destination' }>();

  /** `expiredTokenStyle`: 'aws' = 400 ExpiredToken, 'ceph' = 403 AccessDenied (as Ceph RGW answers). */
  constructor(private readonly expiredTokenStyle: 'aws' | 'ceph' = 'aws') {
    this.staticKeys.set(this.admin.accessKeyId, { secret: this.admin.secretAccessKey, kind: 'admin' });
    this.staticKeys.set(this.destination.accessKeyId, {
      secret: this.destination.secretAccessKey,
      kind: 'destination',
    });
  }

  /** Mints read-only session credentials (what the policy allows them is decided in auth.ts). */
  issue(lifetimeSeconds: number, sessionName: string): IssuedCredentials {
    if (!(lifetimeSeconds > 0)) throw new Error('lifetimeSeconds must be positive');
    const session: Session = {
      accessKeyId: randomKeyId('ASIA'),
      secretAccessKey: randomSecret(),
      sessionToken: 'IQoJb3JpZ2luX2VjE' + randomBytes(96).toString('base64'),
      expiration: new Date(Date.now() + lifetimeSeconds * 1000),
      sessionName,
    };
    this.sessions.set(session.sessionToken, session);
    return {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
      expiration: new Date(session.expiration),
    };
  }

  /** The secret and kind of the key that signed `auth`; throws as S3 does for unknown or expired keys. */
  secretFor(auth: ParsedAuth): { secret: string; kind: CredentialKind } {
    if (auth.sessionToken !== undefined) {
      const s = this.sessions.get(auth.sessionToken);
      if (!s || s.accessKeyId !== auth.accessKeyId) {
        throw new S3Error('InvalidToken', undefined, { 'Token-0': auth.sessionToken });
      }
      if (Date.now() >= s.expiration.getTime()) {
        throw this.expiredTokenStyle === 'ceph'
          ? new S3Error('AccessDenied')
          : new S3Error('ExpiredToken', undefined, { 'Token-0': auth.sessionToken });
      }
      return { secret: s.secretAccessKey, kind: 'issued' };
    }
    const k = this.staticKeys.get(auth.accessKeyId);
    if (!k) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: auth.accessKeyId });
    return { secret: k.secret, kind: k.kind };
  }
}
