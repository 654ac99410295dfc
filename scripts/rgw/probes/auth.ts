/** Probes: authentication. */
import { send } from '../raw-s3';
import { answer, sleep, session } from './kit';
import type { Probe } from './kit';

export const AUTH_PROBES: Probe[] = [
  {
    name: 'GetObject with an expired session token',
    request: 'GET /source/probe/hello.txt with credentials issued for 1 s, 2.5 s later',
    run: async (b) => {
      const keys = await b.issue(1);
      await sleep(2_500);
      return answer(await send(b, keys, { method: 'GET', bucket: b.source, key: 'probe/hello.txt' }));
    },
  },
  {
    name: 'HeadObject with an expired session token',
    request: 'HEAD /source/probe/hello.txt with credentials issued for 1 s, 2.5 s later',
    run: async (b) => {
      const keys = await b.issue(1);
      await sleep(2_500);
      return answer(await send(b, keys, { method: 'HEAD', bucket: b.source, key: 'probe/hello.txt' }));
    },
  },
  {
    name: 'GetObject with a garbled session token',
    request: 'GET /source/probe/hello.txt, x-amz-security-token with its last 8 characters changed',
    run: async (b) => {
      const keys = await session(b);
      const token = keys.sessionToken!;
      return answer(
        await send(
          b,
          {
            ...keys,
            sessionToken: token.slice(0, -8) + (token.endsWith('AAAAAAAA') ? 'BBBBBBBB' : 'AAAAAAAA'),
          },
          {
            method: 'GET',
            bucket: b.source,
            key: 'probe/hello.txt',
          },
        ),
      );
    },
  },
  {
    name: 'GetObject with session keys but no session token',
    request: 'GET /source/probe/hello.txt signed with the issued key pair, x-amz-security-token omitted',
    run: async (b) => {
      const { accessKeyId, secretAccessKey } = await session(b);
      return answer(
        await send(
          b,
          { accessKeyId, secretAccessKey },
          { method: 'GET', bucket: b.source, key: 'probe/hello.txt' },
        ),
      );
    },
  },
  {
    name: 'GetObject with a wrong secret',
    request: 'GET /source/probe/hello.txt signed with another secret',
    run: async (b) => {
      const keys = await session(b);
      return answer(
        await send(
          b,
          { ...keys, secretAccessKey: 'x' + keys.secretAccessKey.slice(1) },
          { method: 'GET', bucket: b.source, key: 'probe/hello.txt' },
        ),
      );
    },
  },
  {
    name: 'GetObject with an unknown access key',
    request: 'GET /source/probe/hello.txt signed with AKIAUNKNOWN...',
    run: async (b) =>
      answer(
        await send(
          b,
          { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) },
          { method: 'GET', bucket: b.source, key: 'probe/hello.txt' },
        ),
      ),
  },
  {
    name: 'GetObject signed 20 minutes ago',
    request: 'GET /source/probe/hello.txt with X-Amz-Date 20 minutes in the past',
    run: async (b) =>
      answer(
        await send(b, b.admin, {
          method: 'GET',
          bucket: b.source,
          key: 'probe/hello.txt',
          signingDate: new Date(Date.now() - 20 * 60_000),
        }),
      ),
  },
  {
    name: 'GetObject anonymous',
    request: 'GET /source/probe/hello.txt without Authorization',
    run: async (b) =>
      answer(await send(b, null, { method: 'GET', bucket: b.source, key: 'probe/hello.txt' })),
  },
];
