/** Probes: multipart. */
import { element, elements, send } from '../raw-s3';
import { header, etagShape, answer, crc32, HELLO, PART, LAST_PART, put, multipart } from './kit';
import type { Probe } from './kit';

export const MULTIPART_PROBES: Probe[] = [
  {
    name: 'CompleteMultipartUpload (no checksums)',
    request: 'CreateMultipartUpload, UploadPart x2 (5 MiB + 1234 B), CompleteMultipartUpload',
    run: async (b) => {
      const { complete } = await multipart(b, 'probe/mpu-plain.bin', { checksum: false });
      return answer(complete, ['etag'], {
        'body ETag': etagShape(element(complete.text, 'ETag')),
        'body Location': element(complete.text, 'Location')?.replace(/127\.0\.0\.1:\d+/, '<host>'),
      });
    },
  },
  {
    name: 'Multipart upload with CRC32 checksums',
    request:
      'CreateMultipartUpload x-amz-checksum-algorithm: CRC32; UploadPart with x-amz-checksum-crc32; ListParts; CompleteMultipartUpload with ChecksumCRC32 per part',
    run: async (b) => {
      const {
        create,
        parts,
        list: listed,
        complete,
      } = await multipart(b, 'probe/mpu-crc.bin', { checksum: true });
      return {
        'create status': create.status,
        'create x-amz-checksum-algorithm': header(create, 'x-amz-checksum-algorithm'),
        'UploadPart status': parts[0].status,
        'UploadPart etag': etagShape(parts[0].headers.etag),
        'UploadPart x-amz-checksum-crc32': parts[0].headers['x-amz-checksum-crc32'] ? 'present' : 'absent',
        'ListParts ChecksumCRC32': elements(listed.text, 'ChecksumCRC32').length ? 'present' : 'absent',
        'ListParts ChecksumAlgorithm': element(listed.text, 'ChecksumAlgorithm'),
        'Complete status': complete.status,
        'Complete body ETag': etagShape(element(complete.text, 'ETag')),
        'Complete body ChecksumCRC32': element(complete.text, 'ChecksumCRC32')?.replace(
          /^[A-Za-z0-9+/=]{8}/,
          '<crc32>',
        ),
        'Complete body ChecksumType': element(complete.text, 'ChecksumType'),
        'Complete x-amz-checksum-crc32': header(complete, 'x-amz-checksum-crc32'),
      };
    },
  },
  {
    name: 'UploadPart with a wrong x-amz-checksum-crc32',
    request: 'CreateMultipartUpload (CRC32); UploadPart with the CRC32 of other bytes',
    run: async (b) => {
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key: 'probe/bad-part.bin',
        query: { uploads: '' },
        headers: { 'x-amz-checksum-algorithm': 'CRC32' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const res = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key: 'probe/bad-part.bin',
        query: { partNumber: '1', uploadId },
        headers: {
          'x-amz-checksum-crc32': crc32(Buffer.from('other')),
          'x-amz-sdk-checksum-algorithm': 'CRC32',
        },
        body: LAST_PART,
      });
      await send(b, b.destination, {
        method: 'DELETE',
        bucket: b.dest,
        key: 'probe/bad-part.bin',
        query: { uploadId },
      });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload with a part under 5 MiB that is not the last',
    request: 'UploadPart 1 (1234 B), UploadPart 2 (1234 B), CompleteMultipartUpload',
    run: async (b) => {
      const key = 'probe/too-small.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const etags: string[] = [];
      for (const n of [1, 2]) {
        const part = await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key,
          query: { partNumber: String(n), uploadId },
          body: LAST_PART,
        });
        etags.push(String(part.headers.etag));
      }
      const body = etags
        .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
        .join('');
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        body: `<CompleteMultipartUpload>${body}</CompleteMultipartUpload>`,
      });
      await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload with a wrong part ETag',
    request: 'UploadPart 1, CompleteMultipartUpload naming part 1 with another ETag',
    run: async (b) => {
      const key = 'probe/wrong-etag.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        body: LAST_PART,
      });
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${'0'.repeat(32)}"</ETag></Part></CompleteMultipartUpload>`,
      });
      await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload with parts out of order',
    request: 'UploadPart 1 (5 MiB) and 2, CompleteMultipartUpload listing 2 then 1',
    run: async (b) => {
      const key = 'probe/order.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const etags: string[] = [];
      for (const [i, body] of [PART, LAST_PART].entries()) {
        const part = await send(b, b.destination, {
          method: 'PUT',
          bucket: b.dest,
          key,
          query: { partNumber: String(i + 1), uploadId },
          body,
        });
        etags.push(String(part.headers.etag));
      }
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        body:
          `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>${etags[1]}</ETag></Part>` +
          `<Part><PartNumber>1</PartNumber><ETag>${etags[0]}</ETag></Part></CompleteMultipartUpload>`,
      });
      await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res);
    },
  },
  {
    name: 'CompleteMultipartUpload If-None-Match: * on an existing key',
    request: 'multipart upload to /dest/exists.txt, CompleteMultipartUpload with If-None-Match: *',
    run: async (b) => {
      const key = 'exists.txt';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      const part = await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        body: LAST_PART,
      });
      const res = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploadId },
        headers: { 'if-none-match': '*' },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>`,
      });
      const after = await send(b, b.destination, { method: 'GET', bucket: b.dest, key });
      if (res.status === 200) await put(b, b.destination, b.dest, key, HELLO);
      else await send(b, b.destination, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res, [], {
        'object afterwards': after.text === HELLO.toString() ? 'unchanged' : 'overwritten',
      });
    },
  },
  {
    name: 'AbortMultipartUpload, then ListParts and Abort again',
    request: 'CreateMultipartUpload, UploadPart, AbortMultipartUpload, ListParts, AbortMultipartUpload',
    run: async (b) => {
      const key = 'probe/aborted.bin';
      const create = await send(b, b.destination, {
        method: 'POST',
        bucket: b.dest,
        key,
        query: { uploads: '' },
      });
      const uploadId = element(create.text, 'UploadId')!;
      await send(b, b.destination, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        body: LAST_PART,
      });
      const abort = await send(b, b.destination, {
        method: 'DELETE',
        bucket: b.dest,
        key,
        query: { uploadId },
      });
      const listParts = await send(b, b.destination, {
        method: 'GET',
        bucket: b.dest,
        key,
        query: { uploadId },
      });
      const again = await send(b, b.destination, {
        method: 'DELETE',
        bucket: b.dest,
        key,
        query: { uploadId },
      });
      return {
        'abort status': abort.status,
        'ListParts status': listParts.status,
        'ListParts code': element(listParts.text, 'Code'),
        'abort again status': again.status,
        'abort again code': element(again.text, 'Code'),
      };
    },
  },
  {
    name: 'UploadPartCopy',
    request:
      'admin: CreateMultipartUpload in /dest, UploadPartCopy from /source/probe/hello.txt (x-amz-copy-source)',
    run: async (b) => {
      const key = 'probe/part-copy.bin';
      const create = await send(b, b.admin, { method: 'POST', bucket: b.dest, key, query: { uploads: '' } });
      const uploadId = element(create.text, 'UploadId')!;
      const res = await send(b, b.admin, {
        method: 'PUT',
        bucket: b.dest,
        key,
        query: { partNumber: '1', uploadId },
        headers: {
          'x-amz-copy-source': `/${b.source}/probe/hello.txt`,
          'x-amz-copy-source-range': 'bytes=0-4',
        },
      });
      await send(b, b.admin, { method: 'DELETE', bucket: b.dest, key, query: { uploadId } });
      return answer(res, [], { 'CopyPartResult ETag': etagShape(element(res.text, 'ETag')) });
    },
  },
];
