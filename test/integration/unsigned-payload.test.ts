/**
 * Parts signed as UNSIGNED-PAYLOAD (shared/copy/unsigned-payload.ts) against the embedded S3 over real
 * HTTP: accepted when intact, rejected (BadDigest) when a byte changes after signing, because the part's
 * checksum header still guards it. The copy engine uses it by default and signs the SHA-256 on request.
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
import { copyObject } from '../../shared/copy';
import { useUnsignedPayload } from '../../shared/copy/unsigned-payload';
import { EmbeddedS3 } from '../../local/embedded-s3';
import { expectS3Error, patternBuffer } from './embedded-s3-helpers';

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

function put(key: string, body: Buffer, checksum = true): PutObjectCommand {
  const command = new PutObjectCommand({
    Bucket: 'dst',
    Key: key,
    Body: body,
    ...(checksum ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
  });
  useUnsignedPayload(command.middlewareStack);
  return command;
}

async function bytesOf(key: string): Promise<Buffer> {
  const out = await s3.client('admin').send(new GetObjectCommand({ Bucket: 'dst', Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('unsigned payload with a checksum header', () => {
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
    useUnsignedPayload(command.middlewareStack);
    await client.send(command);
    expect(seen[0]?.payloadHash).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect((await bytesOf('unsigned/streamed')).equals(body)).toBe(true);
  });
});

describe('copy engine', () => {
  it.each([
    ['by default, parts are signed UNSIGNED-PAYLOAD', {}, 'UNSIGNED-PAYLOAD'],
    ['with signPayload, every part carries its SHA-256', { signPayload: true }, 'sha256'],
  ])('%s', async (_title, options, expected) => {
    const data = patternBuffer(12 * MiB + 17, 7);
    await s3.seedObject('src', 'big', data);
    const destination = s3.client('destination');
    const seen: Seen[] = [];
    observe(destination, seen);
    const result = await copyObject({
      sourceClient: s3.client('admin'),
      destinationClient: destination,
      source: { bucket: 'src', key: 'big' },
      destination: { bucket: 'dst', key: `engine/${expected}` },
      options: { ...options, partSize: 5 * MiB },
    });
    expect(result.status).toBe('COPIED');
    const parts = seen.filter((s) => s.command === UploadPartCommand.name);
    expect(parts).toHaveLength(3);
    for (const part of parts) {
      if (expected === 'sha256') expect(part.payloadHash).toMatch(/^[0-9a-f]{64}$/);
      else expect(part.payloadHash).toBe(expected);
    }
    expect((await bytesOf(`engine/${expected}`)).equals(data)).toBe(true);
  });
});
