/** Probes: reads (TEA-issued session credentials). */
import { createHash, randomBytes } from 'node:crypto';
import { send } from '../raw-s3';
import { answer, CHECKSUM_HEADERS, HELLO, session, get, RANGE_HEADERS } from './kit';
import type { Probe } from './kit';

export const READS_PROBES: Probe[] = [
  {
    name: 'GetObject',
    request: 'GET /source/probe/hello.txt (put without Content-Type)',
    run: async (b) => {
      const res = await get(b, {});
      return answer(res, ['etag', 'content-length', 'accept-ranges', 'content-type', ...CHECKSUM_HEADERS], {
        'last-modified format': String(res.headers['last-modified'])
          .replace(/\d/g, '9')
          .replace(/[A-Z][a-z]{2}/g, 'Xxx'),
      });
    },
  },
  {
    name: 'GetObject ChecksumMode ENABLED, object put with CRC32',
    request: 'GET /source/probe/crc.txt with x-amz-checksum-mode: ENABLED',
    run: async (b) =>
      answer(await get(b, { 'x-amz-checksum-mode': 'ENABLED' }, 'probe/crc.txt'), CHECKSUM_HEADERS),
  },
  {
    name: 'GetObject ChecksumMode ENABLED, object put without checksum',
    request: 'GET /source/probe/hello.txt with x-amz-checksum-mode: ENABLED',
    run: async (b) => answer(await get(b, { 'x-amz-checksum-mode': 'ENABLED' }), CHECKSUM_HEADERS),
  },
  {
    name: 'GetObject ChecksumMode ENABLED, multipart object with CRC32',
    request: 'GET /source/probe/mpu.bin (2 parts, CRC32) with x-amz-checksum-mode: ENABLED',
    run: async (b) => {
      const res = await get(b, { 'x-amz-checksum-mode': 'ENABLED' }, 'probe/mpu.bin');
      const a = answer(res, ['etag', ...CHECKSUM_HEADERS]);
      if (typeof a['x-amz-checksum-crc32'] === 'string')
        a['x-amz-checksum-crc32'] = a['x-amz-checksum-crc32'].replace(/^[A-Za-z0-9+/=]{8}/, '<crc32>');
      return a;
    },
  },
  {
    name: 'HeadObject partNumber=1 of a multipart object',
    request: 'HEAD /source/probe/mpu.bin?partNumber=1',
    run: async (b) =>
      answer(await get(b, {}, 'probe/mpu.bin', 'HEAD', { partNumber: '1' }), [
        'content-length',
        'x-amz-mp-parts-count',
        'content-range',
        'etag',
      ]),
  },
  {
    name: 'GetObject Range bytes=0-4',
    request: 'GET /source/probe/hello.txt, Range: bytes=0-4',
    run: async (b) => answer(await get(b, { range: 'bytes=0-4' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject Range bytes=-4 (suffix)',
    request: 'GET /source/probe/hello.txt, Range: bytes=-4',
    run: async (b) => answer(await get(b, { range: 'bytes=-4' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject Range past the end, overlapping',
    request: 'GET /source/probe/hello.txt (13 B), Range: bytes=5-100',
    run: async (b) => answer(await get(b, { range: 'bytes=5-100' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject Range wholly past the end',
    request: 'GET /source/probe/hello.txt (13 B), Range: bytes=100-200',
    run: async (b) => answer(await get(b, { range: 'bytes=100-200' }), ['content-range']),
  },
  {
    name: 'GetObject empty object, Range bytes=0-0',
    request: 'GET /source/probe/empty (0 B), Range: bytes=0-0',
    run: async (b) =>
      answer(await get(b, { range: 'bytes=0-0' }, 'probe/empty'), ['content-range', 'content-length']),
  },
  {
    name: 'GetObject empty object, no Range',
    request: 'GET /source/probe/empty',
    run: async (b) => answer(await get(b, {}, 'probe/empty'), ['content-length', 'etag']),
  },
  {
    name: 'GetObject Range with bad syntax',
    request: 'GET /source/probe/hello.txt, Range: bytes=abc',
    run: async (b) => answer(await get(b, { range: 'bytes=abc' }), RANGE_HEADERS),
  },
  {
    name: 'GetObject with two ranges',
    request: 'GET /source/probe/hello.txt, Range: bytes=0-1,3-4',
    run: async (b) =>
      answer(await get(b, { range: 'bytes=0-1,3-4' }), ['content-range', 'content-length', 'content-type']),
  },
  {
    name: 'GetObject If-Match with a wrong ETag',
    request: 'GET /source/probe/hello.txt, If-Match: "<md5 of other bytes>"',
    run: async (b) =>
      answer(await get(b, { 'if-match': `"${createHash('md5').update('x').digest('hex')}"` }), ['etag']),
  },
  {
    name: 'GetObject If-Match right ETag with Range',
    request: 'GET /source/probe/hello.txt, If-Match: <its ETag>, Range: bytes=0-0',
    run: async (b) =>
      answer(
        await get(b, {
          'if-match': `"${createHash('md5').update(HELLO).digest('hex')}"`,
          range: 'bytes=0-0',
        }),
        RANGE_HEADERS,
      ),
  },
  {
    name: 'GetObject If-Match unquoted ETag',
    request: 'GET /source/probe/hello.txt, If-Match: <md5 without quotes>',
    run: async (b) => answer(await get(b, { 'if-match': createHash('md5').update(HELLO).digest('hex') })),
  },
  {
    name: 'HeadObject If-Match with a wrong ETag',
    request: 'HEAD /source/probe/hello.txt, If-Match: "<md5 of other bytes>"',
    run: async (b) =>
      answer(
        await get(
          b,
          { 'if-match': `"${createHash('md5').update('x').digest('hex')}"` },
          'probe/hello.txt',
          'HEAD',
        ),
      ),
  },
  {
    name: 'GetObject If-None-Match with its ETag',
    request: 'GET /source/probe/hello.txt, If-None-Match: <its ETag>',
    run: async (b) =>
      answer(await get(b, { 'if-none-match': `"${createHash('md5').update(HELLO).digest('hex')}"` }), [
        'etag',
      ]),
  },
  {
    name: 'GetObject If-Unmodified-Since in the past',
    request: 'GET /source/probe/hello.txt, If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT',
    run: async (b) => answer(await get(b, { 'if-unmodified-since': 'Sat, 01 Jan 2000 00:00:00 GMT' })),
  },
  {
    name: 'HeadObject, missing key',
    request: 'HEAD /source/probe/missing (credentials may list the bucket)',
    run: async (b) => answer(await get(b, {}, 'probe/missing', 'HEAD'), ['content-type', 'content-length']),
  },
  {
    name: 'GetObject, missing key',
    request: 'GET /source/probe/missing',
    run: async (b) => answer(await get(b, {}, 'probe/missing')),
  },
  {
    name: 'GetObject, missing bucket (admin)',
    request: 'GET /no-such-bucket-<random>/k with the admin key pair',
    run: async (b) =>
      answer(
        await send(b, b.admin, {
          method: 'GET',
          bucket: `no-such-bucket-${randomBytes(3).toString('hex')}`,
          key: 'k',
        }),
      ),
  },
  {
    name: 'HeadBucket, missing bucket (admin)',
    request: 'HEAD /no-such-bucket-<random> with the admin key pair',
    run: async (b) =>
      answer(
        await send(b, b.admin, {
          method: 'HEAD',
          bucket: `no-such-bucket-${randomBytes(3).toString('hex')}`,
        }),
      ),
  },
  {
    name: 'HeadObject on the destination bucket with read-only credentials',
    request: 'HEAD /dest/exists.txt with TEA-issued credentials',
    run: async (b) =>
      answer(await send(b, await session(b), { method: 'HEAD', bucket: b.dest, key: 'exists.txt' })),
  },
];
