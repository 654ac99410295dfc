/** Probes: listings. */
import { element, elements, send } from '../raw-s3';
import { etagShape, answer, LIST_KEYS, keysOf, prefixesOf, topElements, list, session } from './kit';
import type { Probe } from './kit';

export const LISTINGS_PROBES: Probe[] = [
  {
    name: 'ListObjectsV2 order of odd keys',
    request: `GET /source?list-type=2&prefix=list/ (keys: ${LIST_KEYS.map((k) => JSON.stringify(k)).join(', ')})`,
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'list/' });
      return answer(res, [], { keys: keysOf(res.text) });
    },
  },
  {
    name: 'ListObjectsV2 encoding-type=url',
    request: 'GET /source?list-type=2&prefix=list/&encoding-type=url',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'list/', 'encoding-type': 'url' });
      return answer(res, [], {
        'raw Key values': keysOf(res.text),
        Prefix: element(res.text, 'Prefix'),
        EncodingType: element(res.text, 'EncodingType'),
      });
    },
  },
  {
    name: 'ListObjectsV2 delimiter',
    request: 'GET /source?list-type=2&prefix=list/&delimiter=/',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'list/', delimiter: '/' });
      return answer(res, [], {
        CommonPrefixes: prefixesOf(res.text),
        KeyCount: element(res.text, 'KeyCount'),
        'keys count': elements(res.text, 'Key').length,
      });
    },
  },
  {
    name: 'ListObjectsV2 pagination (max-keys=5)',
    request: 'GET /source?list-type=2&prefix=list/&max-keys=5, then continuation-token',
    run: async (b) => {
      const keys = await session(b);
      const first = await list(b, keys, { prefix: 'list/', 'max-keys': '5' });
      const token = element(first.text, 'NextContinuationToken');
      const second = token
        ? await list(b, keys, { prefix: 'list/', 'max-keys': '5', 'continuation-token': token })
        : undefined;
      return {
        status: first.status,
        'page 1 KeyCount': element(first.text, 'KeyCount'),
        'page 1 IsTruncated': element(first.text, 'IsTruncated'),
        'page 1 elements': topElements(first.text),
        'page 2 first key': second ? elements(second.text, 'Key')[0] : undefined,
        'page 2 ContinuationToken echoed': second
          ? element(second.text, 'ContinuationToken') === token
          : undefined,
      };
    },
  },
  {
    name: 'ListObjectsV2 StartAfter',
    request: 'GET /source?list-type=2&prefix=list/&start-after=list/a+b&max-keys=3',
    run: async (b) => {
      const res = await list(b, await session(b), {
        prefix: 'list/',
        'start-after': 'list/a+b',
        'max-keys': '3',
      });
      return answer(res, [], { keys: keysOf(res.text), StartAfter: element(res.text, 'StartAfter') });
    },
  },
  {
    name: 'ListObjectsV2 StartAfter and continuation-token together',
    request: 'page 1 with max-keys=2; page 2 with its token and start-after=list/~',
    run: async (b) => {
      const keys = await session(b);
      const first = await list(b, keys, { prefix: 'list/', 'max-keys': '2' });
      const token = element(first.text, 'NextContinuationToken') ?? '';
      const res = await list(b, keys, {
        prefix: 'list/',
        'max-keys': '2',
        'continuation-token': token,
        'start-after': 'list/~',
      });
      return answer(res, [], { keys: keysOf(res.text) });
    },
  },
  {
    name: 'ListObjectsV2 response elements',
    request: 'GET /source?list-type=2&prefix=probe/',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'probe/' });
      const contents = elements(res.text, 'Contents');
      const mpu = contents.find((c) => element(c, 'Key') === 'probe/mpu.bin') ?? '';
      return answer(res, [], {
        elements: topElements(res.text),
        'Contents elements': Array.from(
          new Set(Array.from((contents[0] ?? '').matchAll(/<(\w+)>/g), (m) => m[1])),
        ).join(','),
        'multipart ETag': etagShape(element(mpu, 'ETag')),
        StorageClass: element(mpu, 'StorageClass'),
        'ChecksumAlgorithm of the CRC32 object': element(
          contents.find((c) => element(c, 'Key') === 'probe/crc.txt') ?? '',
          'ChecksumAlgorithm',
        ),
      });
    },
  },
  {
    name: 'ListObjectsV2 fetch-owner=true',
    request: 'GET /source?list-type=2&prefix=probe/hello&fetch-owner=true',
    run: async (b) => {
      const res = await list(b, await session(b), { prefix: 'probe/hello', 'fetch-owner': 'true' });
      return answer(res, [], { Owner: element(res.text, 'Owner') ? 'present' : 'absent' });
    },
  },
  {
    name: 'ListObjectsV2 with an invalid continuation-token',
    request: 'GET /source?list-type=2&continuation-token=not-a-token',
    run: async (b) => answer(await list(b, await session(b), { 'continuation-token': 'not-a-token' })),
  },
  {
    name: 'ListObjectsV2 on another bucket with read-only credentials',
    request: 'GET /dest?list-type=2 with TEA-issued credentials',
    run: async (b) =>
      answer(await send(b, await session(b), { method: 'GET', bucket: b.dest, query: { 'list-type': '2' } })),
  },
];
