/**
 * Server-side encryption as S3 records and answers it per object: SSE-S3 (`AES256`), SSE-KMS (`aws:kms`,
 * `aws:kms:dsse`, with a key of the emulated KMS; the account's `aws/s3` key by default) and SSE-C (the
 * customer's AES256 key, required again on every read; only its MD5 is kept). The bytes are stored in
 * the clear: what is emulated is the protocol, including ETags that are not the MD5 of the data.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { S3Error } from './errors';
import { headerValue, type RequestContext } from './request';

export const SSE = 'x-amz-server-side-encryption';
export const SSE_KMS_KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
export const SSE_C_ALGORITHM = 'x-amz-server-side-encryption-customer-algorithm';
export const SSE_C_KEY_MD5 = 'x-amz-server-side-encryption-customer-key-md5';

/** The headers an object's encryption is stored as and answered with (GET, HEAD, PUT, parts, Complete). */
export const ENCRYPTION_HEADERS = [SSE, SSE_KMS_KEY_ID, SSE_C_ALGORITHM, SSE_C_KEY_MD5];

/** Request headers of an SSE-C key: of the object written or read, or of a copy source. */
const CUSTOMER_KEY_PREFIX = 'x-amz-server-side-encryption-customer-';
export const COPY_SOURCE_CUSTOMER_KEY_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-';

const KMS_ALGORITHMS = new Set(['aws:kms', 'aws:kms:dsse']);
/** The emulated account, as in the AWS documentation's examples. */
const ACCOUNT = '123456789012';

/** The KMS keys SSE-KMS may name: the account's `aws/s3` key and the key ids the emulator was given. */
export class EmulatedKms {
  readonly defaultKeyArn: string;
  private readonly keyIds: Set<string>;

  constructor(
    private readonly region: string,
    keyIds: readonly string[] = [],
  ) {
    const defaultKeyId = randomUUID();
    this.keyIds = new Set([defaultKeyId, ...keyIds]);
    this.defaultKeyArn = this.arn(defaultKeyId);
  }

  private arn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${ACCOUNT}:key/${keyId}`;
  }

  /** The ARN of the key that a key id, key ARN or `alias/aws/s3` names; undefined when unknown. */
  resolve(name: string): string | undefined {
    if (name === 'alias/aws/s3') return this.defaultKeyArn;
    const keyId = name.startsWith('arn:') ? /^arn:aws:kms:([^:]+):(\d+):key\/(.+)$/.exec(name) : undefined;
    if (keyId)
      return keyId[1] === this.region && keyId[2] === ACCOUNT && this.keyIds.has(keyId[3]) ? name : undefined;
    return this.keyIds.has(name) ? this.arn(name) : undefined;
  }
}

/** The SSE-C key a request carries under `prefix` (validated as S3 does), or undefined when none. */
function customerKey(ctx: RequestContext, prefix: string): { keyMd5: string } | undefined {
  const algorithm = headerValue(ctx.req, `${prefix}algorithm`);
  const key = headerValue(ctx.req, `${prefix}key`);
  const keyMd5 = headerValue(ctx.req, `${prefix}key-md5`);
  if (algorithm === undefined && key === undefined && keyMd5 === undefined) return undefined;
  if (algorithm === undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.',
      { ArgumentName: `${prefix}algorithm` },
    );
  }
  if (algorithm !== 'AES256') {
    throw new S3Error(
      'InvalidEncryptionAlgorithmError',
      'The encryption request you specified is not valid. The valid value is AES256.',
      { ArgumentName: `${prefix}algorithm`, ArgumentValue: algorithm },
    );
  }
  const bytes = Buffer.from(key ?? '', 'base64');
  if (bytes.length !== 32) {
    throw new S3Error('InvalidArgument', 'The secret key was invalid for the specified algorithm.', {
      ArgumentName: `${prefix}key`,
    });
  }
  const computed = createHash('md5').update(bytes).digest('base64');
  if (keyMd5 !== computed) {
    throw new S3Error(
      'InvalidArgument',
      'The calculated MD5 hash of the key did not match the hash that was provided.',
      { ArgumentName: `${prefix}key-md5` },
    );
  }
  return { keyMd5: computed };
}

/**
 * The encryption a PutObject, CreateMultipartUpload or CopyObject asks for, validated, as the headers to
 * store with the object ({@link ENCRYPTION_HEADERS}); `{}` for none.
 */
export function encryptionFromRequest(ctx: RequestContext, kms: EmulatedKms): Record<string, string> {
  const sse = headerValue(ctx.req, SSE);
  const keyId = headerValue(ctx.req, SSE_KMS_KEY_ID);
  const customer = customerKey(ctx, CUSTOMER_KEY_PREFIX);
  if (customer && sse !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      { ArgumentName: SSE, ArgumentValue: sse },
    );
  }
  if (keyId !== undefined && !KMS_ALGORITHMS.has(sse ?? '')) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
      { ArgumentName: SSE },
    );
  }
  if (customer) return { [SSE_C_ALGORITHM]: 'AES256', [SSE_C_KEY_MD5]: customer.keyMd5 };
  if (sse === undefined) return {};
  if (sse === 'AES256') return { [SSE]: sse };
  if (!KMS_ALGORITHMS.has(sse)) {
    throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', {
      ArgumentName: SSE,
      ArgumentValue: sse,
    });
  }
  const arn = keyId === undefined ? kms.defaultKeyArn : kms.resolve(keyId);
  if (!arn) throw new S3Error('KMS.NotFoundException', `Invalid keyId '${keyId}'`, {}, { status: 400 });
  return { [SSE]: sse, [SSE_KMS_KEY_ID]: arn };
}

/** The stored encryption headers among an object's (or an upload's) stored headers. */
export function encryptionOf(stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ENCRYPTION_HEADERS) if (stored[name] !== undefined) out[name] = stored[name];
  return out;
}

/** S3 gives SSE-KMS and SSE-C objects ETags that are not the MD5 of their data. */
export function etagForEncryption(encryption: Record<string, string>, md5Hex: string): string {
  const opaque = KMS_ALGORITHMS.has(encryption[SSE] ?? '') || encryption[SSE_C_ALGORITHM] !== undefined;
  return opaque ? randomBytes(16).toString('hex') : md5Hex;
}

/**
 * A read (GET, HEAD, copy source, or a part of an SSE-C upload) must carry the key of an SSE-C object,
 * and no key for another one. `prefix` names the key headers (a copy source has its own).
 */
export function checkCustomerKey(
  ctx: RequestContext,
  stored: Record<string, string>,
  prefix: string = CUSTOMER_KEY_PREFIX,
): void {
  const given = customerKey(ctx, prefix);
  const expected = stored[SSE_C_KEY_MD5];
  if (expected === undefined) {
    if (given)
      throw new S3Error('InvalidRequest', 'The encryption parameters are not applicable to this object.');
    return;
  }
  if (!given) {
    throw new S3Error(
      'InvalidRequest',
      'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    );
  }
  if (given.keyMd5 !== expected) throw new S3Error('AccessDenied');
}

/** GET and HEAD may not name an encryption method: it is the object's, not the request's. */
export function rejectEncryptionOnRead(ctx: RequestContext): void {
  const sse = headerValue(ctx.req, SSE);
  if (sse !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'x-amz-server-side-encryption header is not supported for this operation.',
      {
        ArgumentName: SSE,
        ArgumentValue: sse,
      },
    );
  }
}
