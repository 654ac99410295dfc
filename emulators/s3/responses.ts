/** Writing responses: S3's headers on every answer, XML documents, and errors as S3 XML. */
import { bump, type Counters } from './counters';
import { errorXml, S3Error } from './errors';
import type { RequestContext } from './request';
import { S3_XMLNS, xmlDocument, type XmlElement } from './xml';

export function baseHeaders(ctx: RequestContext): Record<string, string> {
  return { 'x-amz-request-id': ctx.requestId, 'x-amz-id-2': ctx.hostId, server: 'AmazonS3' };
}

export function send(
  ctx: RequestContext,
  status: number,
  headers: Record<string, string> = {},
  body?: string,
): void {
  const buf = body === undefined ? undefined : Buffer.from(body);
  // a body announced with Expect: 100-continue but never asked for: the connection cannot be reused
  if (ctx.expectContinue && !ctx.continued && !ctx.req.complete)
    headers = { ...headers, connection: 'close' };
  ctx.res.writeHead(status, {
    ...baseHeaders(ctx),
    ...headers,
    ...(buf
      ? { 'content-length': String(buf.length) }
      : status === 204 || status === 304
        ? {}
        : { 'content-length': '0' }),
  });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : buf);
}

/** Answers 200 with the S3 document `<root xmlns="…S3 namespace…">children</root>`. */
export function sendXml(
  ctx: RequestContext,
  root: string,
  children: XmlElement,
  headers: Record<string, string> = {},
): void {
  send(ctx, 200, { 'content-type': 'application/xml', ...headers }, xmlDocument(root, children, S3_XMLNS));
}

/** Answers an error as S3 does; a response already under way can only be cut. */
export function sendError(ctx: RequestContext, err: unknown, counters: Counters): void {
  const e =
    err instanceof S3Error
      ? err
      : new S3Error(
          'InternalError',
          `We encountered an internal error: ${(err as Error)?.message ?? String(err)}`,
        );
  bump(counters.errors, e.code);
  const { res } = ctx;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  try {
    writeError(ctx, e);
  } catch {
    res.destroy();
  }
}

function writeError(ctx: RequestContext, e: S3Error): void {
  const { req, res } = ctx;
  const headers: Record<string, string> = { ...baseHeaders(ctx), ...e.headers };
  if (!req.complete) {
    if (ctx.expectContinue && !ctx.continued) {
      headers.connection = 'close';
    } else {
      req.unpipe();
      req.resume();
    }
  }
  const body = ctx.method === 'HEAD' ? undefined : Buffer.from(errorXml(e, ctx.requestId, ctx.hostId));
  if (body) {
    headers['content-type'] = 'application/xml';
    headers['content-length'] = String(body.length);
  }
  res.writeHead(e.status, headers);
  res.end(body);
}
