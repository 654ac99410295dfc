/** GetObject, HeadObject, PutObject, DeleteObject. */
import type * as http from 'node:http';
import { MAX_PUT_SIZE, receive } from '../bodies';
import { checksumFromHeaders, checksumHeaders, DEFAULT_CHECKSUM_ALGORITHM } from '../checksums';
import {
  checkCustomerKey,
  encryptionFromRequest,
  etagForEncryption,
  rejectEncryptionOnRead,
} from '../encryption';
import { S3Error } from '../errors';
import type { Gateway, Operation } from '../gateway';
import { checkKey, headerValue, type RequestContext } from '../request';
import { baseHeaders, send } from '../responses';
import type { OpenedObject } from '../store';
import { checkConditions, parseRange, writeConditionCheck } from './conditions';
import { metadataFromHeaders, objectHeaders, RESPONSE_OVERRIDES } from './metadata';

const MiB = 1024 * 1024;

export async function getObject(gw: Gateway, ctx: RequestContext): Promise<void> {
  const head = ctx.op === 'HeadObject';
  const key = ctx.key as string;
  const obj = await gw.store.openObject(ctx.bucket as string, key);
  if (!obj) throw new S3Error('NoSuchKey', undefined, { Key: key });
  let handedOff = false;
  try {
    rejectEncryptionOnRead(ctx);
    checkCustomerKey(ctx, obj.metadata);
    const marker = checkConditions(ctx, obj.etag, obj.lastModified);
    const headers = objectHeaders(obj);
    if (marker === 'not-modified') {
      send(ctx, 304, { etag: headers.etag, 'last-modified': headers['last-modified'] });
      return;
    }
    const partNumber = ctx.query.get('partNumber');
    if (partNumber !== undefined) {
      // Part boundaries of multipart objects are not kept: only part 1 of a single-part object.
      if (partNumber !== '1' || obj.etag.includes('-')) {
        throw new S3Error(
          'NotImplemented',
          'GetObject/HeadObject with partNumber is only supported for part 1 of single-part objects here.',
        );
      }
      headers['x-amz-mp-parts-count'] = '1';
    }
    if (!head) {
      for (const [param, name] of RESPONSE_OVERRIDES) {
        const v = ctx.query.get(param);
        if (v !== undefined) headers[name] = v;
      }
    }
    const range = parseRange(headerValue(ctx.req, 'range'), obj.size);
    // The stored checksum covers the whole object: a ranged or part read gets none, as in S3.
    if (!range && partNumber === undefined && headerValue(ctx.req, 'x-amz-checksum-mode') === 'ENABLED') {
      Object.assign(headers, checksumHeaders(checksumFromHeaders(obj.metadata)));
    }
    const start = range?.start ?? 0;
    const end = range ? range.end : obj.size - 1;
    const length = Math.max(0, end - start + 1);
    if (range) headers['content-range'] = `bytes ${start}-${end}/${obj.size}`;
    headers['content-length'] = String(length);
    ctx.res.writeHead(range ? 206 : 200, { ...baseHeaders(ctx), ...headers });
    if (head || length === 0) {
      ctx.res.end();
      return;
    }
    handedOff = true;
    await streamBody(gw, ctx, obj, start, end);
  } finally {
    if (!handedOff) await obj.handle.close();
  }
}

/** Writes a chunk; resolves false if the client went away. */
function writeChunk(res: http.ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** Sends bytes `start..end` of the object, in the pieces the injected faults allow. */
async function streamBody(
  gw: Gateway,
  ctx: RequestContext,
  obj: OpenedObject,
  start: number,
  end: number,
): Promise<void> {
  const res = ctx.res;
  const stream = obj.handle.createReadStream({ start, end, highWaterMark: MiB, autoClose: true });
  const faults = gw.faults.forGetBody(ctx, end - start + 1);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let rest = chunk;
      while (rest.length) {
        const n = await faults.nextPieceSize(rest.length);
        if (faults.cutsWithin(n)) {
          await faults.cut(res, rest);
          stream.destroy();
          return;
        }
        const piece = rest.subarray(0, n);
        rest = rest.subarray(n);
        if (!(await writeChunk(res, piece))) {
          stream.destroy();
          return;
        }
        gw.counters.bytesServed += n;
        await faults.sentPiece(n);
      }
    }
    res.end();
  } catch {
    stream.destroy();
    res.destroy();
  }
}

export async function putObject(gw: Gateway, ctx: RequestContext): Promise<void> {
  checkKey(ctx);
  const metadata = metadataFromHeaders(ctx);
  const encryption = encryptionFromRequest(ctx, gw.kms);
  const staged = await receive(gw, ctx, {
    requireLength: true,
    maxBytes: MAX_PUT_SIZE,
    defaultChecksum: DEFAULT_CHECKSUM_ALGORITHM,
  });
  const stored = {
    ...encryption,
    ...checksumHeaders(staged.checksum && { ...staged.checksum, type: 'FULL_OBJECT' }),
  };
  const result = await gw.store.commitObject(
    ctx.bucket as string,
    ctx.key as string,
    staged.tmpPath,
    etagForEncryption(encryption, staged.md5Hex),
    { ...metadata, ...stored },
    writeConditionCheck(ctx),
  );
  send(ctx, 200, { etag: result.etag, ...stored });
}

export async function deleteObject(gw: Gateway, ctx: RequestContext): Promise<void> {
  checkKey(ctx);
  await gw.store.deleteObject(ctx.bucket as string, ctx.key as string);
  send(ctx, 204);
}

export const operations: Record<string, Operation> = {
  GetObject: getObject,
  HeadObject: getObject,
  PutObject: putObject,
  DeleteObject: deleteObject,
};
