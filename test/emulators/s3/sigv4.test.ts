/**
 * SigV4 verification against signatures made independently: chunk signatures as
 * @smithy/signature-v4 makes event signatures, and canonical requests written out by hand for the
 * cases where a verifier must follow the client rather than re-derive the request as a signer does.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  chunkSignature,
  parseAuth,
  parseQuery,
  signingKey,
  verifySignature,
} from '../../../emulators/s3/sigv4';
import { Sha256 } from '../../helpers/embedded-s3';

const accessKeyId = 'AKIAIOSFODNN7EXAMPLE';
const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const amzDate = '20130524T000000Z';
const scope = '20130524/us-east-1/s3/aws4_request';
const key = signingKey(secret, '20130524', 'us-east-1', 's3');
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('chunk signatures', () => {
  it('are @smithy/signature-v4 event signatures over empty headers', async () => {
    const signer = new SignatureV4({
      credentials: { accessKeyId, secretAccessKey: secret },
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
    });
    let previous = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
    for (const size of [65536, 1024, 0]) {
      const payload = Buffer.alloc(size, 'a');
      const ours = chunkSignature(key, amzDate, scope, previous, sha256(payload));
      const smithy = await signer.sign(
        { headers: new Uint8Array(0), payload },
        { priorSignature: previous, signingDate: new Date('2013-05-24T00:00:00Z') },
      );
      expect(ours).toBe(smithy);
      previous = ours;
    }
  });
});

describe('the canonical request is the one the client signed', () => {
  const hash = sha256('');
  const hostDateHash: [string, string][] = [
    ['Host', 'example.com'],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Content-Sha256', hash],
  ];

  /** A canonical request: method, path, query, header lines, signed headers, empty-payload hash. */
  function canonical(method: string, path: string, query: string, headerLines: string[], signed: string) {
    return [method, path, query, headerLines.map((l) => `${l}\n`).join(''), signed, hash].join('\n');
  }

  /** Signs `canonicalRequest` as a client would, then verifies the request it stands for. */
  function verify(
    canonicalRequest: string,
    request: { method: string; rawPath: string; rawQuery: string; headers: [string, string][] },
  ) {
    const signedHeaders = canonicalRequest.split('\n').at(-2);
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
    const authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    const headers: Record<string, string> = { authorization };
    for (const [n, v] of request.headers) headers[n.toLowerCase()] = v;
    const queryPairs = parseQuery(request.rawQuery);
    const auth = parseAuth(headers, new Map(queryPairs))!;
    const rawHeaders = [...request.headers.flat(), 'Authorization', authorization];
    return verifySignature(
      { method: request.method, rawPath: request.rawPath, queryPairs, rawHeaders },
      auth,
      secret,
    );
  }

  it('keeps the order of an unsorted SignedHeaders list', () => {
    const lines = [`x-amz-date:${amzDate}`, 'host:example.com', `x-amz-content-sha256:${hash}`];
    const creq = canonical('GET', '/bucket/key', '', lines, 'x-amz-date;host;x-amz-content-sha256');
    const v = verify(creq, { method: 'GET', rawPath: '/bucket/key', rawQuery: '', headers: hostDateHash });
    expect(v.canonicalRequest).toBe(creq);
    expect(v.ok).toBe(true);
  });

  it('signs an X-Amz-Signature query parameter of a header-authenticated request', () => {
    const lines = ['host:example.com', `x-amz-content-sha256:${hash}`, `x-amz-date:${amzDate}`];
    const creq = canonical(
      'GET',
      '/k',
      'X-Amz-Signature=abc&a=1',
      lines,
      'host;x-amz-content-sha256;x-amz-date',
    );
    const v = verify(creq, {
      method: 'GET',
      rawPath: '/k',
      rawQuery: 'a=1&X-Amz-Signature=abc',
      headers: hostDateHash,
    });
    expect(v.ok).toBe(true);
  });

  it('uses a signed Date header when there is no x-amz-date, and joins repeated headers', () => {
    const date = 'Fri, 24 May 2013 00:00:00 GMT';
    const headers: [string, string][] = [
      ['Host', 'example.com'],
      ['Date', date],
      ['X-Amz-Content-Sha256', hash],
      ['X-Amz-Meta-A', ' one  two '],
      ['X-Amz-Meta-A', 'three'],
    ];
    const lines = [
      `date:${date}`,
      'host:example.com',
      `x-amz-content-sha256:${hash}`,
      'x-amz-meta-a:one two,three',
    ];
    const creq = canonical('PUT', '/bucket/a%20b', '', lines, 'date;host;x-amz-content-sha256;x-amz-meta-a');
    const v = verify(creq, { method: 'PUT', rawPath: '/bucket/a%20b', rawQuery: '', headers });
    expect(v.canonicalRequest).toBe(creq);
    expect(v.ok).toBe(true);
  });
});
