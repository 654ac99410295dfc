/**
 * Embedded S3 response XML: the document builder on odd text, the <Error> layout, and odd keys
 * through every listing the SDK parses (plain and EncodingType=url).
 */
import {
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorXml, S3Error } from '../../../emulators/s3/errors';
import { EmbeddedS3 } from '../../../emulators/s3/server';
import { entriesOf, requestDocument, S3_XMLNS, textOf, xmlDocument } from '../../../emulators/s3/xml';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

describe('xmlDocument', () => {
  it('escapes &, <, >, " and CR; keeps apostrophes, tabs, LF, unicode and control characters', () => {
    const key = `a&b<c>d"e'f\rg\nh\ti]]>😀ü\u0001`;
    expect(xmlDocument('R', { Key: key })).toBe(
      `${DECL}<R><Key>a&amp;b&lt;c&gt;d&quot;e'f&#13;g\nh\ti]]&gt;😀ü\u0001</Key></R>`,
    );
  });

  it('writes the namespace, repeats arrays, leaves out undefined, and writes empty, numeric and boolean text', () => {
    const doc = xmlDocument(
      'ListBucketResult',
      {
        Name: 'b',
        Prefix: '',
        Marker: undefined,
        KeyCount: 2,
        IsTruncated: false,
        Contents: [{ Key: 'x&y' }, { Key: 'z', Owner: { ID: 'o' } }],
        CommonPrefixes: [],
      },
      S3_XMLNS,
    );
    expect(doc).toBe(
      `${DECL}<ListBucketResult xmlns="${S3_XMLNS}"><Name>b</Name><Prefix></Prefix><KeyCount>2</KeyCount>` +
        `<IsTruncated>false</IsTruncated><Contents><Key>x&amp;y</Key></Contents>` +
        `<Contents><Key>z</Key><Owner><ID>o</ID></Owner></Contents></ListBucketResult>`,
    );
  });

  it('round-trips odd text through the request-document reader', () => {
    const key = `a&b<c>d"e'f\rg]]>😀`;
    const document = requestDocument(
      xmlDocument('Delete', { Object: [{ Key: key }, { Key: 'k2' }] }),
      'Delete',
    );
    expect(entriesOf(document!, 'Object').map((o) => textOf(o, 'Key'))).toEqual([key, 'k2']);
  });

  it('refuses a document that is not well-formed, or has another root', () => {
    expect(requestDocument('<Delete><Object><Key>a</Object></Delete>', 'Delete')).toBeUndefined();
    expect(requestDocument('<Other/>', 'Delete')).toBeUndefined();
    expect(requestDocument('<Delete></Delete>', 'Delete')).toEqual({});
  });
});

describe('errorXml', () => {
  it('puts the fields between Message and RequestId, escaped', () => {
    const err = new S3Error('NoSuchKey', undefined, { Key: '<k&>', Size: 3 });
    expect(errorXml(err, 'REQ', 'HOST')).toBe(
      `${DECL}<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>` +
        `<Key>&lt;k&amp;&gt;</Key><Size>3</Size><RequestId>REQ</RequestId><HostId>HOST</HostId></Error>`,
    );
  });
});

describe('odd keys through the SDK', () => {
  const BUCKET = 'odd-keys';
  const keys = [
    `a&b<c>d"e'f`,
    'cr\rlf\nta\tb',
    'crlf\r\nend',
    'ünï/日本/😀',
    ']]>x',
    'amp&amp;literal',
    'ctl\u0001x',
  ];
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let s3: EmbeddedS3;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await EmbeddedS3.start({ sourceBuckets: [], destinationBuckets: [BUCKET] });
    client = s3.client('admin');
    for (const Key of keys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));
  });

  afterAll(async () => {
    await s3.stop();
  });

  it('lists them exactly with ListObjectsV2, plain and with EncodingType=url', async () => {
    const plain = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(plain.Contents?.map((c) => c.Key)).toEqual(sorted);
    const url = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, EncodingType: 'url' }));
    expect(url.EncodingType).toBe('url');
    expect(url.Contents?.map((c) => decodeURIComponent(c.Key!))).toEqual(sorted);
  });

  it('url-encodes keys and common prefixes of ListObjects with a delimiter', async () => {
    const out = await client.send(
      new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', EncodingType: 'url' }),
    );
    expect(out.Contents?.map((c) => decodeURIComponent(c.Key!))).toEqual(
      sorted.filter((k) => !k.includes('/')),
    );
    expect(out.CommonPrefixes?.map((p) => decodeURIComponent(p.Prefix!))).toEqual(['ünï/']);
  });

  it('names them exactly in ListMultipartUploads and DeleteObjects results', async () => {
    await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: keys[0] }));
    await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: keys[1] }));
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(uploads.Uploads?.map((u) => u.Key).sort()).toEqual([keys[0], keys[1]].sort());
    const deleted = await client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    expect(deleted.Deleted?.map((d) => d.Key)).toEqual(keys);
  });
});
