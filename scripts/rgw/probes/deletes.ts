/** Probes: deletes and copies. */
import { element, elements, send } from '../raw-s3';
import { etagShape, answer, md5Base64, put, session } from './kit';
import type { Probe } from './kit';

export const DELETES_PROBES: Probe[] = [
  {
    name: 'DeleteObjects (two keys exist, one does not)',
    request: 'POST /dest?delete with Content-MD5, three <Object>s',
    run: async (b) => {
      await put(b, b.destination, b.dest, 'del/1', 'a');
      await put(b, b.destination, b.dest, 'del/2', 'b');
      const body = `<Delete>${['del/1', 'del/2', 'del/missing'].map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        query: { delete: '' },
        headers: { 'content-md5': md5Base64(Buffer.from(body)) },
        body,
      });
      return answer(res, [], {
        Deleted: elements(res.text, 'Deleted')
          .map((d) => element(d, 'Key'))
          .join(' '),
        Errors: elements(res.text, 'Error').length,
      });
    },
  },
  {
    name: 'DeleteObjects Quiet',
    request: 'POST /dest?delete, <Quiet>true</Quiet>, one existing key',
    run: async (b) => {
      await put(b, b.destination, b.dest, 'del/3', 'c');
      const body = '<Delete><Quiet>true</Quiet><Object><Key>del/3</Key></Object></Delete>';
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        query: { delete: '' },
        headers: { 'content-md5': md5Base64(Buffer.from(body)) },
        body,
      });
      return answer(res, [], { Deleted: elements(res.text, 'Deleted').length });
    },
  },
  {
    name: 'DeleteObjects without Content-MD5',
    request: 'POST /dest?delete with no Content-MD5 or checksum header',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'POST',
          bucket: b.dest,
          query: { delete: '' },
          body: '<Delete><Object><Key>del/none</Key></Object></Delete>',
        }),
      ),
  },
  {
    name: 'DeleteObjects with read-only credentials',
    request: 'POST /source?delete with TEA-issued credentials, one existing key',
    run: async (b) => {
      const body = '<Delete><Object><Key>probe/hello.txt</Key></Object></Delete>';
      const res = await send(b, await session(b), {
        method: 'POST',
        bucket: b.source,
        query: { delete: '' },
        headers: { 'content-md5': md5Base64(Buffer.from(body)) },
        body,
      });
      const still = await send(b, b.admin, { method: 'HEAD', bucket: b.source, key: 'probe/hello.txt' });
      return answer(res, [], {
        'per-key Error Code': element(element(res.text, 'Error') ?? '', 'Code'),
        'object afterwards': still.status === 200 ? 'kept' : 'deleted',
      });
    },
  },
  {
    name: 'DeleteObject, missing key',
    request: 'DELETE /dest/del/never-existed',
    run: async (b) =>
      answer(await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key: 'del/never-existed' })),
  },
  {
    name: 'CopyObject',
    request: 'admin: PUT /dest/probe/copied.txt, x-amz-copy-source: /source/probe/hello.txt',
    run: async (b) => {
      const res = await send(b, b.admin, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/copied.txt',
        headers: { 'x-amz-copy-source': `/${b.source}/probe/hello.txt` },
      });
      return answer(res, [], { 'CopyObjectResult ETag': etagShape(element(res.text, 'ETag')) });
    },
  },
];
