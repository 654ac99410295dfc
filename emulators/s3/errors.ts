/** S3-style errors of the embedded S3 gateway: codes, statuses, default messages, and their XML. */
import { xmlDocument, type XmlElement } from './xml';

/** HTTP status per S3 error code (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). */
const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidToken: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

const DEFAULT_MESSAGE: Record<string, string> = {
  AccessDenied: 'Access Denied',
  ExpiredToken: 'The provided token has expired.',
  InvalidAccessKeyId: 'The AWS Access Key Id you provided does not exist in our records.',
  InvalidToken: 'The provided token is malformed or otherwise invalid.',
  NoSuchBucket: 'The specified bucket does not exist',
  NoSuchKey: 'The specified key does not exist.',
  NoSuchUpload:
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  NotImplemented: 'A header or parameter you provided implies functionality that is not implemented',
  PreconditionFailed: 'At least one of the pre-conditions you specified did not hold',
  SignatureDoesNotMatch:
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  MissingContentLength: 'You must provide the Content-Length HTTP header.',
  MalformedXML: 'The XML you provided was not well-formed or did not validate against our published schema',
  InvalidRange: 'The requested range is not satisfiable',
  KeyTooLongError: 'Your key is too long',
  XAmzContentSHA256Mismatch: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  IncompleteBody: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
};

/** An error answered to the client as S3 XML. `fields` become extra elements of `<Error>`. */
export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: Record<string, string | number>;
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    message?: string,
    fields: Record<string, string | number> = {},
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(message ?? DEFAULT_MESSAGE[code] ?? code);
    this.name = code;
    this.code = code;
    this.status = options.status ?? STATUS[code] ?? 400;
    this.fields = fields;
    this.headers = options.headers ?? {};
  }
}

/** The `<Error>` document S3 answers with; `fields` stand between Message and RequestId. */
export function errorXml(err: S3Error, requestId: string, hostId: string): string {
  const extra: XmlElement = {};
  for (const [k, v] of Object.entries(err.fields)) extra[k] = String(v);
  return xmlDocument('Error', {
    Code: err.code,
    Message: err.message,
    ...extra,
    RequestId: requestId,
    HostId: hostId,
  });
}
