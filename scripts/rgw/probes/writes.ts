/** Probes: writes and checksums. */
import { createHash, randomBytes } from 'node:crypto';
import { element, send } from '../raw-s3';
import { header, answer, crc32, md5Base64, CHECKSUM_HEADERS, HELLO, put } from './kit';
import type { Probe } from './kit';

export const WRITES_PROBES: Probe[] = [
  {
    name: 'PutObject, no checksum',
    request: 'PUT /dest/probe/plain.txt (13 bytes, signed payload, no checksum headers)',
    run: async (b) =>
      answer(
        await send(b, b.destination, { method: 'PUT', bucket: b.dest, key: 'probe/plain.txt', body: HELLO }),
        ['etag', ...CHECKSUM_HEADERS],
      ),
  },
  {
    name: 'PutObject with x-amz-checksum-crc32',
    request: 'PUT /dest/probe/crc.txt with x-amz-checksum-crc32 (right value)',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/crc.txt',
          headers: { 'x-amz-checksum-crc32': crc32(HELLO), 'x-amz-sdk-checksum-algorithm': 'CRC32' },
          body: HELLO,
        }),
        ['etag', ...CHECKSUM_HEADERS],
      ),
  },
  {
    name: 'PutObject with a wrong x-amz-checksum-crc32',
    request: 'PUT /dest/probe/bad-crc.txt with x-amz-checksum-crc32 of other bytes',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/bad-crc.txt',
          headers: {
            'x-amz-checksum-crc32': crc32(Buffer.from('other')),
            'x-amz-sdk-checksum-algorithm': 'CRC32',
          },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject with a wrong Content-MD5',
    request: 'PUT /dest/probe/bad-md5.txt with Content-MD5 of other bytes',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/bad-md5.txt',
          headers: { 'content-md5': md5Base64(Buffer.from('other')) },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer',
    request:
      'PUT /dest/probe/trailer.txt, Content-Encoding aws-chunked, x-amz-trailer x-amz-checksum-crc32 (what the SDK sends for a stream body); then HEAD it',
    run: async (b) => {
      const framed = Buffer.concat([
        Buffer.from(`${HELLO.length.toString(16)}\r\n`),
        HELLO,
        Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32(HELLO)}\r\n\r\n`),
      ]);
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/trailer.txt',
        headers: {
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(HELLO.length),
          'x-amz-trailer': 'x-amz-checksum-crc32',
          'x-amz-sdk-checksum-algorithm': 'CRC32',
        },
        payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        body: framed,
      });
      const head = await send(b, b.destination, { method: 'HEAD', bucket: b.dest, key: 'probe/trailer.txt' });
      return answer(res, ['x-amz-checksum-crc32'], {
        'stored Content-Length (HEAD)':
          head.status === 200 ? header(head, 'content-length') : `HEAD ${head.status}`,
        'stored Content-Encoding (HEAD)': header(head, 'content-encoding'),
      });
    },
  },
  {
    name: 'PutObject aws-chunked with a wrong CRC32 trailer',
    request: 'as above with the trailer checksum of other bytes',
    run: async (b) => {
      const framed = Buffer.concat([
        Buffer.from(`${HELLO.length.toString(16)}\r\n`),
        HELLO,
        Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32(Buffer.from('other'))}\r\n\r\n`),
      ]);
      return answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/bad-trailer.txt',
          headers: {
            'content-encoding': 'aws-chunked',
            'x-amz-decoded-content-length': String(HELLO.length),
            'x-amz-trailer': 'x-amz-checksum-crc32',
            'x-amz-sdk-checksum-algorithm': 'CRC32',
          },
          payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          body: framed,
        }),
      );
    },
  },
  {
    name: 'PutObject with UNSIGNED-PAYLOAD',
    request: 'PUT /dest/probe/unsigned.txt, x-amz-content-sha256: UNSIGNED-PAYLOAD, x-amz-checksum-crc32',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/unsigned.txt',
          headers: { 'x-amz-checksum-crc32': crc32(HELLO), 'x-amz-sdk-checksum-algorithm': 'CRC32' },
          payloadHash: 'UNSIGNED-PAYLOAD',
          body: HELLO,
        }),
        ['etag'],
      ),
  },
  {
    name: 'PutObject with a 1025-byte key',
    request: 'PUT /dest/probe/kkk... (1025 bytes)',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: `probe/${'k'.repeat(1025 - 'probe/'.length)}`,
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject without Content-Length',
    request: 'PUT /dest/probe/unsized.txt with Transfer-Encoding: chunked and no Content-Length',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/unsized.txt',
          body: HELLO,
          unsized: true,
        }),
      ),
  },
  {
    name: 'PutObject If-None-Match: * on a new key',
    request: 'PUT /dest/probe/new-<random> with If-None-Match: *',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: `probe/new-${randomBytes(4).toString('hex')}`,
          headers: { 'if-none-match': '*' },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject If-None-Match: * on an existing key',
    request: 'PUT /dest/exists.txt with If-None-Match: * (the key exists); then GET it',
    run: async (b) => {
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'exists.txt',
        headers: { 'if-none-match': '*' },
        body: 'overwritten',
      });
      const after = await send(b, b.destination, { method: 'GET', bucket: b.dest, key: 'exists.txt' });
      if (res.status === 200) await put(b, b.destination, b.dest, 'exists.txt', HELLO);
      return answer(res, [], {
        'object afterwards': after.text === HELLO.toString() ? 'unchanged' : 'overwritten',
      });
    },
  },
  {
    name: 'PutObject If-Match with a wrong ETag',
    request: 'PUT /dest/exists.txt with If-Match: "<md5 of other bytes>"',
    run: async (b) => {
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'exists.txt',
        headers: { 'if-match': `"${createHash('md5').update('other').digest('hex')}"` },
        body: 'overwritten',
      });
      if (res.status === 200) await put(b, b.destination, b.dest, 'exists.txt', HELLO);
      return answer(res);
    },
  },
  {
    name: 'PutObject SSE-KMS with a known key id, then HEAD',
    request:
      "PUT /dest/probe/kms.txt with x-amz-server-side-encryption: aws:kms and a key id RGW's testing KMS knows; HEAD it",
    run: async (b) => {
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/kms.txt',
        headers: {
          'x-amz-server-side-encryption': 'aws:kms',
          'x-amz-server-side-encryption-aws-kms-key-id': b.kmsKeyId,
        },
        body: HELLO,
      });
      const head = await send(b, b.destination, { method: 'HEAD', bucket: b.dest, key: 'probe/kms.txt' });
      return answer(res, ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id'], {
        'HEAD x-amz-server-side-encryption': header(head, 'x-amz-server-side-encryption'),
        'ETag is the MD5 of the body':
          header(res, 'etag') === `"${createHash('md5').update(HELLO).digest('hex')}"`,
      });
    },
  },
  {
    name: 'PutObject SSE-C, then GET without the key, with another key, with the key',
    request: 'PUT /dest/probe/ssec.txt with an SSE-C key (AES256, key, key MD5); GET it three ways',
    run: async (b) => {
      const keyHeaders = (key: Buffer): Record<string, string> => ({
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': key.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': md5Base64(key),
      });
      const key = Buffer.alloc(32, 7);
      const target = { bucket: b.dest, key: 'probe/ssec.txt' };
      const res = await send(b, b.destination, {
        method: 'PUT',
        ...target,
        headers: keyHeaders(key),
        body: HELLO,
      });
      const without = await send(b, b.destination, { method: 'GET', ...target });
      const other = await send(b, b.destination, {
        method: 'GET',
        ...target,
        headers: keyHeaders(Buffer.alloc(32, 8)),
      });
      const right = await send(b, b.destination, { method: 'GET', ...target, headers: keyHeaders(key) });
      return answer(res, ['x-amz-server-side-encryption-customer-algorithm'], {
        'ETag is the MD5 of the body':
          header(res, 'etag') === `"${createHash('md5').update(HELLO).digest('hex')}"`,
        'GET without the key': `${without.status} ${element(without.text, 'Code') ?? ''}`,
        'GET with another key': `${other.status} ${element(other.text, 'Code') ?? ''}`,
        'GET with the key': `${right.status} ${right.text === HELLO.toString() ? 'same bytes' : 'other bytes'}`,
      });
    },
  },
  {
    name: 'PutObject SSE-KMS with an unknown key id',
    request: 'PUT /dest/probe/kms-unknown.txt with x-amz-server-side-encryption: aws:kms, key id no-such-key',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/kms-unknown.txt',
          headers: {
            'x-amz-server-side-encryption': 'aws:kms',
            'x-amz-server-side-encryption-aws-kms-key-id': 'no-such-key',
          },
          body: HELLO,
        }),
      ),
  },
  {
    name: 'PutObject SSE-S3 (AES256)',
    request: 'PUT /dest/probe/sse-s3.txt with x-amz-server-side-encryption: AES256',
    run: async (b) =>
      answer(
        await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key: 'probe/sse-s3.txt',
          headers: { 'x-amz-server-side-encryption': 'AES256' },
          body: HELLO,
        }),
        ['x-amz-server-side-encryption'],
      ),
  },
  {
    name: 'PutObject with user metadata, then HEAD',
    request:
      'PUT /dest/probe/meta.txt with x-amz-meta-source-etag: "abc" and Content-Type text/plain; HEAD it',
    run: async (b) => {
      await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/meta.txt',
        headers: { 'x-amz-meta-source-etag': '"abc"', 'content-type': 'text/plain' },
        body: HELLO,
      });
      return answer(await send(b, b.destination, { method: 'HEAD', bucket: b.dest, key: 'probe/meta.txt' }), [
        'x-amz-meta-source-etag',
        'content-type',
      ]);
    },
  },
];
