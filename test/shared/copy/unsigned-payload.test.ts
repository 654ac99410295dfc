/**
 * Parts signed as UNSIGNED-PAYLOAD (shared/copy/unsigned-payload.ts) against the embedded S3 over real
 * HTTP: accepted when intact, rejected (BadDigest) when a byte changes after signing, because the part's
 * checksum header still guards it. By default only requests over TLS go unsigned: over plain HTTP the
 * signed SHA-256 stays, because some stores ignore checksum headers.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import type { FinalizeRequestMiddleware, HttpRequest } from '@smithy/types';
import { copyObject } from '../../../shared/copy';
import {
  unsignedPayloadMiddleware,
  useUnsignedPayload,
  type UnsignedPayloadMode,
} from '../../../shared/copy/unsigned-payload';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { expectS3Error, patternBuffer } from '../../helpers/embedded-s3';

const MiB = 1024 * 1024;
let s3: EmbeddedS3;

beforeAll(async () => {
  s3 = await EmbeddedS3.start({ sourceBuckets: ['src'], destinationBuckets: ['dst'] });
});

afterAll(async () => {
  await s3?.stop();
});

interface Seen {
  command: string;
  payloadHash?: string;
}

/** Records each request's x-amz-content-sha256 as signed; `tamper` flips a body byte after signing. */
function observe(client: S3Client, seen: Seen[], tamper = false): void {
  const recorder: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> =
    (next, context) => async (args) => {
      const request = args.request as HttpRequest;
      seen.push({
        command: String(context.commandName),
        payloadHash: request.headers['x-amz-content-sha256'],
      });
      if (tamper && request.body instanceof Uint8Array && request.body.length > 0) {
        const copy = Buffer.from(request.body);
        copy[0] ^= 0xff;
        request.body = copy;
      }
      return next(args);
    };
  // After the signer, as the wire sees it.
  client.middlewareStack.addRelativeTo(recorder, {
    relation: 'after',
    toMiddleware: 'httpSigningMiddleware',
    name: 'recorder',
  });
}

function put(
  key: string,
  body: Buffer,
  checksum = true,
  mode: UnsignedPayloadMode = 'always',
): PutObjectCommand {
  const command = new PutObjectCommand({
    Bucket: 'dst',
    Key: key,
    Body: body,
    ...(checksum ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
  });
  useUnsignedPayload(command.middlewareStack, mode);
  return command;
}

async function bytesOf(key: string): Promise<Buffer> {
  const out = await s3.client('admin').send(new GetObjectCommand({ Bucket: 'dst', Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('unsigned payload with a checksum header', () => {
  const signed = async (protocol: string, mode: UnsignedPayloadMode, body: unknown = Buffer.from('abc')) => {
    const request = {
      protocol,
      headers: { 'x-amz-checksum-crc32': 'NSRBwg==' } as Record<string, string>,
      body,
    };
    let seen: Record<string, string> | undefined;
    await unsignedPayloadMiddleware(mode)(async (args) => {
      seen = (args.request as { headers: Record<string, string> }).headers;
      return { output: {}, response: {} };
    }, {})({ input: {}, request });
    return seen?.['x-amz-content-sha256'];
  };

  it.each([
    ['https:', 'https', 'UNSIGNED-PAYLOAD'],
    ['http:', 'https', undefined],
    ['http:', 'always', 'UNSIGNED-PAYLOAD'],
    ['https:', 'always', 'UNSIGNED-PAYLOAD'],
  ] as const)(
    'over %s in %s mode: x-amz-content-sha256 %s (otherwise the signer hashes the body)',
    async (protocol, mode, expected) => {
      expect(await signed(protocol, mode)).toBe(expected);
    },
  );

  it('never touches a request without a checksum header, or with a streamed body', async () => {
    let seen: Record<string, string> | undefined;
    await unsignedPayloadMiddleware('always')(async (args) => {
      seen = (args.request as { headers: Record<string, string> }).headers;
      return { output: {}, response: {} };
    }, {})({ input: {}, request: { protocol: 'https:', headers: {}, body: Buffer.from('abc') } });
    expect(seen).toEqual({});
    expect(await signed('https:', 'always', Readable.from([Buffer.from('abc')]))).toBeUndefined();
  });

  it("'https' mode over plain HTTP keeps the SHA-256 signed, and S3 stores the body", async () => {
    const client = s3.client('destination');
    const seen: Seen[] = [];
    observe(client, seen);
    const body = patternBuffer(4000, 8);
    await client.send(put('unsigned/http', body, true, 'https'));
    expect(seen[0]?.payloadHash).toBe(createHash('sha256').update(body).digest('hex'));
    expect((await bytesOf('unsigned/http')).equals(body)).toBe(true);
  });

  it('signs an in-memory body that carries a CRC32 as UNSIGNED-PAYLOAD, and S3 stores it', async () => {
    const client = s3.client('destination');
    const seen: Seen[] = [];
    observe(client, seen);
    const body = patternBuffer(300_000, 3);
    await client.send(put('unsigned/ok', body));
    expect(seen).toEqual([{ command: 'PutObjectCommand', payloadHash: 'UNSIGNED-PAYLOAD' }]);
    expect((await bytesOf('unsigned/ok')).equals(body)).toBe(true);
  });

  it('a byte changed after signing is rejected with BadDigest: the checksum still guards the part', async () => {
    const client = s3.client('destination');
    const seen: Seen[] = [];
    observe(client, seen, true);
    await expectS3Error(client.send(put('unsigned/tampered', patternBuffer(1000, 4))), 'BadDigest', 400);
    expect(seen[0]?.payloadHash).toBe('UNSIGNED-PAYLOAD');
  });

  it('leaves a body without a checksum header signed with its SHA-256', async () => {
    const client = s3.client('destination', { requestChecksumCalculation: 'WHEN_REQUIRED' });
    const seen: Seen[] = [];
    observe(client, seen);
    const body = patternBuffer(5000, 5);
    await client.send(put('unsigned/signed', body, false));
    expect(seen[0]?.payloadHash).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('leaves a streamed body (aws-chunked with a trailer) alone', async () => {
    const client = s3.client('destination');
    const seen: Seen[] = [];
    observe(client, seen);
    const body = patternBuffer(70_000, 6);
    const command = new PutObjectCommand({
      Bucket: 'dst',
      Key: 'unsigned/streamed',
      Body: Readable.from([body]),
      ContentLength: body.length,
      ChecksumAlgorithm: 'CRC32',
    });
    useUnsignedPayload(command.middlewareStack, 'always');
    await client.send(command);
    expect(seen[0]?.payloadHash).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect((await bytesOf('unsigned/streamed')).equals(body)).toBe(true);
  });
});

describe('copy engine', () => {
  it.each([
    ["by default, over plain HTTP, every part's SHA-256 is signed", {}, 'sha256'],
    [
      "with unsignedPayload: 'always', parts are signed UNSIGNED-PAYLOAD",
      { unsignedPayload: 'always' as const },
      'UNSIGNED-PAYLOAD',
    ],
    [
      "with unsignedPayload: 'never', every part's SHA-256 is signed",
      { unsignedPayload: 'never' as const },
      'sha256',
    ],
  ])('%s', async (title, options, expected) => {
    const data = patternBuffer(12 * MiB + 17, 7);
    await s3.seedObject('src', 'big', data);
    const destination = s3.client('destination');
    const seen: Seen[] = [];
    observe(destination, seen);
    const result = await copyObject({
      sourceClient: s3.client('admin'),
      destinationClient: destination,
      source: { bucket: 'src', key: 'big' },
      destination: { bucket: 'dst', key: `engine/${title.length}` },
      options: { ...options, partSize: 5 * MiB },
    });
    expect(result.status).toBe('COPIED');
    const parts = seen.filter((s) => s.command === UploadPartCommand.name);
    expect(parts).toHaveLength(3);
    for (const part of parts) {
      if (expected === 'sha256') expect(part.payloadHash).toMatch(/^[0-9a-f]{64}$/);
      else expect(part.payloadHash).toBe(expected);
    }
    expect((await bytesOf(`engine/${title.length}`)).equals(data)).toBe(true);
  });
});
