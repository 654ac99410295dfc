/**
 * The request pipeline: parse the target and name the operation, count it, authenticate and
 * authorize, inject faults, then route to the operation; any error is answered as S3 XML.
 */
import type * as http from 'node:http';
import { authenticate, authorize, type AuthSettings } from './auth';
import { bump } from './counters';
import { S3Error } from './errors';
import type { Gateway, Operation } from './gateway';
import * as buckets from './operations/buckets';
import * as copy from './operations/copy';
import * as listing from './operations/listing';
import * as multipart from './operations/multipart';
import * as objects from './operations/objects';
import { newRequestContext, parseTarget, type RequestContext } from './request';
import { sendError } from './responses';

const SERVICE_OPERATIONS = new Map<string, Operation>(Object.entries(buckets.serviceOperations));

/** Operations in an existing bucket. */
const BUCKET_OPERATIONS = new Map<string, Operation>(
  [buckets, listing, objects, copy, multipart].flatMap((m) => Object.entries(m.operations)),
);

export async function handleRequest(
  gw: Gateway,
  auth: AuthSettings,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  expectContinue: boolean,
): Promise<void> {
  const ctx = newRequestContext(req, res, expectContinue);
  try {
    parseTarget(ctx);
    bump(gw.counters.requests, ctx.op);
    ctx.principal = authenticate(auth, ctx);
    bump(gw.counters.requestsByCredential[ctx.principal.kind], ctx.op);
    authorize(auth.policy, ctx);
    await gw.faults.beforeDispatch(ctx);
    await dispatch(gw, ctx);
  } catch (err) {
    sendError(ctx, err, gw.counters);
  }
}

async function dispatch(gw: Gateway, ctx: RequestContext): Promise<void> {
  const serviceOperation = SERVICE_OPERATIONS.get(ctx.op);
  if (serviceOperation) return serviceOperation(gw, ctx);
  const bucket = ctx.bucket as string;
  if (!(await gw.store.bucketExists(bucket))) {
    throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
  }
  const operation = BUCKET_OPERATIONS.get(ctx.op);
  if (operation) return operation(gw, ctx);
  if (ctx.op === 'Unknown') {
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
      Method: ctx.method,
    });
  }
  throw new S3Error('NotImplemented', undefined, { Operation: ctx.op });
}
