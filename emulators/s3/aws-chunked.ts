/**
 * Streaming decoder for `Content-Encoding: aws-chunked` request bodies, the framing the AWS SDKs use
 * for streaming uploads:
 *   - `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: `hex-size\r\n<data>\r\n … 0\r\n<trailers>\r\n`
 *   - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: `hex-size;chunk-signature=<sig>\r\n<data>\r\n … 0;chunk-signature=<sig>\r\n\r\n`
 *   - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: as above, then trailers and `x-amz-trailer-signature`.
 * Emits the decoded payload; chunk and trailer signatures are verified when a signing context is given.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './errors';
import { chunkSignature, EMPTY_SHA256, signaturesEqual, trailerSignature } from './sigv4';

export interface ChunkSigningContext {
  seedSignature: string;
  signingKey: Buffer;
  amzDate: string;
  scope: string;
}

export interface AwsChunkedOptions {
  /** verify chunk (and trailer) signatures with this context; omit for unsigned framing */
  signing?: ChunkSigningContext;
  /** x-amz-decoded-content-length, checked at the end */
  decodedLength?: number;
}

const MAX_LINE = 8192;
const CR = 0x0d;
const LF = 0x0a;

type State = 'header' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  /** trailing headers, lower-case names (without x-amz-trailer-signature) */
  readonly trailers = new Map<string, string>();
  decodedBytes = 0;

  private state: State = 'header';
  private line: Buffer[] = [];
  private lineLength = 0;
  private remaining = 0;
  private chunkSig: string | undefined;
  private previousSig: string | undefined;
  private chunkHash: Hash | undefined;
  private finalChunkSeen = false;
  private trailerSig: string | undefined;

  constructor(private readonly options: AwsChunkedOptions = {}) {
    super();
    this.previousSig = options.signing?.seedSignature;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done') {
      callback(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk.'));
      return;
    }
    if (this.options.decodedLength !== undefined && this.decodedBytes !== this.options.decodedLength) {
      callback(new S3Error('IncompleteBody'));
      return;
    }
    callback();
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'header':
        case 'trailer': {
          const lf = buf.indexOf(LF, i);
          const end = lf < 0 ? buf.length : lf + 1;
          this.line.push(buf.subarray(i, end));
          this.lineLength += end - i;
          if (this.lineLength > MAX_LINE) throw new S3Error('InvalidRequest', 'aws-chunked line too long');
          i = end;
          if (lf >= 0) {
            const line = Buffer.concat(this.line, this.lineLength);
            this.line = [];
            this.lineLength = 0;
            if (line.length < 2 || line[line.length - 2] !== CR) {
              throw new S3Error('InvalidRequest', 'malformed aws-chunked line');
            }
            const text = line.subarray(0, line.length - 2).toString('latin1');
            if (this.state === 'header') this.onHeader(text);
            else this.onTrailerLine(text);
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          const slice = buf.subarray(i, i + n);
          this.chunkHash?.update(slice);
          this.decodedBytes += n;
          if (this.options.decodedLength !== undefined && this.decodedBytes > this.options.decodedLength) {
            throw new S3Error(
              'IncompleteBody',
              'The aws-chunked body is longer than x-amz-decoded-content-length.',
            );
          }
          this.push(slice);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (buf[i] !== CR) throw new S3Error('InvalidRequest', 'malformed aws-chunked chunk end');
          i++;
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (buf[i] !== LF) throw new S3Error('InvalidRequest', 'malformed aws-chunked chunk end');
          i++;
          this.endChunk();
          this.state = 'header';
          break;
        case 'done':
          // Bytes after the terminating empty line: ignore whitespace, reject anything else.
          for (; i < buf.length; i++) {
            if (buf[i] !== CR && buf[i] !== LF)
              throw new S3Error('InvalidRequest', 'data after the final aws-chunked chunk');
          }
          break;
      }
    }
  }

  private onHeader(text: string): void {
    const m = /^([0-9a-fA-F]{1,16})((?:;[^;]*)*)$/.exec(text);
    if (!m) throw new S3Error('InvalidRequest', 'malformed aws-chunked chunk header');
    const size = parseInt(m[1], 16);
    const sigMatch = /;chunk-signature=([0-9a-fA-F]{64})/.exec(m[2]);
    this.chunkSig = sigMatch?.[1].toLowerCase();
    if (this.options.signing) {
      if (!this.chunkSig)
        throw new S3Error('SignatureDoesNotMatch', 'An aws-chunked chunk is missing its signature.');
      this.chunkHash = createHash('sha256');
    }
    if (size === 0) {
      this.endChunk();
      this.finalChunkSeen = true;
      this.state = 'trailer';
    } else {
      this.remaining = size;
      this.state = 'data';
    }
  }

  private endChunk(): void {
    const signing = this.options.signing;
    if (!signing) return;
    const hash = this.chunkHash ? this.chunkHash.digest('hex') : EMPTY_SHA256;
    this.chunkHash = undefined;
    const expected = chunkSignature(
      signing.signingKey,
      signing.amzDate,
      signing.scope,
      this.previousSig ?? '',
      hash,
    );
    if (!this.chunkSig || !signaturesEqual(expected, this.chunkSig)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The chunk signature we calculated does not match the one you provided.',
      );
    }
    this.previousSig = expected;
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      this.finish();
      return;
    }
    const colon = text.indexOf(':');
    if (colon <= 0) throw new S3Error('InvalidRequest', 'malformed aws-chunked trailer');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') this.trailerSig = value.toLowerCase();
    else this.trailers.set(name, value);
  }

  private finish(): void {
    if (!this.finalChunkSeen) throw new S3Error('InvalidRequest', 'malformed aws-chunked body');
    const signing = this.options.signing;
    if (signing && (this.trailers.size > 0 || this.trailerSig !== undefined)) {
      const expected = trailerSignature(
        signing.signingKey,
        signing.amzDate,
        signing.scope,
        this.previousSig ?? '',
        [...this.trailers],
      );
      if (!this.trailerSig || !signaturesEqual(expected, this.trailerSig)) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The trailer signature we calculated does not match the one you provided.',
        );
      }
    }
    this.state = 'done';
  }
}
