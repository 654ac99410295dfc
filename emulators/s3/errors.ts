/** S3-style errors and XML helpers for the embedded S3 gateway. */

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

export function xmlEscape(value: string | number | boolean): string {
  return String(value).replace(/[&<>"\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#13;',
  );
}

export function xmlUnescape(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    switch (e) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** A tiny XML writer: `xml('A', [xml('B', 'text')])`. Text is escaped; arrays are concatenated. */
export type XmlChild = string | undefined | false | XmlChild[];
export function xml(tag: string, content?: XmlChild | number | boolean, attrs = ''): string {
  if (content === undefined) return `<${tag}${attrs}/>`;
  const inner = Array.isArray(content)
    ? flatten(content)
    : typeof content === 'string'
      ? xmlEscape(content)
      : String(content);
  return `<${tag}${attrs}>${inner}</${tag}>`;
}
function flatten(children: XmlChild[]): string {
  let out = '';
  for (const c of children) {
    if (c === undefined || c === false) continue;
    out += Array.isArray(c) ? flatten(c) : c;
  }
  return out;
}

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_XMLNS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export function errorXml(err: S3Error, requestId: string, hostId: string): string {
  const extra = Object.entries(err.fields)
    .map(([k, v]) => xml(k, String(v)))
    .join('');
  return (
    XML_DECL +
    `<Error>${xml('Code', err.code)}${xml('Message', err.message)}${extra}` +
    `${xml('RequestId', requestId)}${xml('HostId', hostId)}</Error>`
  );
}

/** Text of every `<tag>…</tag>` element in a small XML document (entity-decoded). Not a general parser. */
export function xmlElements(doc: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  const out: string[] = [];
  for (let m = re.exec(doc); m; m = re.exec(doc)) out.push(m[1]);
  return out;
}
export function xmlText(doc: string, tag: string): string | undefined {
  const all = xmlElements(doc, tag);
  return all.length ? xmlUnescape(all[0]) : undefined;
}
