import { emptyUnitCounts } from '../../../shared/units';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { PlanOutput } from '../../../shared/contracts';

// Keep the handler's log lines out of the test output.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const s3 = mockClient(S3Client);

/** A GetObject body as the SDK returns it: a stream that can also be read as text. */
function body(text: string): GetObjectCommandOutput['Body'] {
  return Object.assign(Readable.from([Buffer.from(text)]), {
    transformToString: async () => text,
  }) as unknown as GetObjectCommandOutput['Body'];
}

const PREFIX = 'runs/exec-9';
const items = [
  { Key: 'a.h5', DestKey: 'a.h5', Size: 10 },
  { Key: 'b.h5', DestKey: 'b.h5', Size: 20 },
];
const planOutput: PlanOutput = {
  Manifest: { Bucket: 'staging-bucket', Key: `${PREFIX}/manifest.jsonl` },
  Count: 2,
  Bytes: 30,
  Units: { ...emptyUnitCounts(), Objects: 2, Lines: 2 },
  DryRun: false,
  BatchInput: {
    CredentialsEndpoint: 'https://tea.test.earthdatacloud.nasa.gov/s3credentials',
    Token: { Kind: 'staged', Bucket: 'staging-bucket', Key: `${PREFIX}/token`, TokenKind: 'bearer' },
    SourceBucket: 'src',
    DestBucket: 'dst',
    Sync: false,
    RunId: 'exec-9',
  },
  Staging: { Bucket: 'staging-bucket', Prefix: PREFIX },
};

beforeEach(() => {
  s3.reset();
  process.env.STAGING_BUCKET = 'staging-bucket';
});

describe('summarize handler', () => {
  it('reads the ResultWriter output from the staging bucket, writes the report and deletes the token', async () => {
    const files: Record<string, string> = {
      [`${PREFIX}/m1/manifest.json`]: JSON.stringify({
        DestinationBucket: 'staging-bucket',
        MapRunArn: 'arn:aws:states:us-west-2:123456789012:mapRun:SM/CopyObjects:m1',
        ResultFiles: {
          FAILED: [],
          PENDING: [],
          SUCCEEDED: [{ Key: `${PREFIX}/m1/SUCCEEDED_0.json`, Size: 1 }],
        },
      }),
      [`${PREFIX}/m1/SUCCEEDED_0.json`]: JSON.stringify([
        {
          ExecutionArn: 'arn:aws:states:us-west-2:123456789012:execution:SM/CopyObjects:e1',
          Input: JSON.stringify({ Items: items, BatchInput: planOutput.BatchInput }),
          Output: JSON.stringify({
            Results: [
              { Key: 'a.h5', DestKey: 'a.h5', Status: 'COPIED', Bytes: 10 },
              { Key: 'b.h5', DestKey: 'b.h5', Status: 'SKIPPED', Bytes: 0 },
            ],
            Stalled: 0,
            BatchInput: planOutput.BatchInput,
          }),
          Status: 'SUCCEEDED',
        },
      ]),
      [`${PREFIX}/manifest.jsonl`]: items.map((i) => JSON.stringify(i)).join('\n'),
    };
    s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      expect(input.Bucket).toBe('staging-bucket');
      const text = files[input.Key];
      if (text === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      return { Body: body(text) };
    });
    s3.on(PutObjectCommand).resolves({});
    s3.on(DeleteObjectCommand).resolves({});

    const { handler } = await import('../../../functions/summarize/handler');
    const result = await handler({
      Plan: planOutput,
      Map: {
        MapRunArn: 'arn:aws:states:us-west-2:123456789012:mapRun:SM/CopyObjects:m1',
        ResultWriterDetails: { Bucket: 'staging-bucket', Key: `${PREFIX}/m1/manifest.json` },
      },
    });

    expect(result).toEqual({
      Copied: 1,
      Skipped: 1,
      Failed: 0,
      Bytes: 10,
      Failures: [],
      Report: { Bucket: 'staging-bucket', Key: `${PREFIX}/report.json` },
    });
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'staging-bucket', Key: `${PREFIX}/token` },
    ]);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ Bucket: 'staging-bucket', Key: `${PREFIX}/report.json` });
    const report = JSON.parse(Buffer.from(puts[0].Body as Uint8Array).toString('utf8'));
    expect(report.Items).toHaveLength(2);
    expect(report.Counts).toMatchObject({ Planned: 2, Copied: 1, Skipped: 1 });
  });

  it('refuses to run without its staging bucket', async () => {
    delete process.env.STAGING_BUCKET;
    const { handler } = await import('../../../functions/summarize/handler');
    await expect(handler({ Plan: planOutput })).rejects.toThrow(/STAGING_BUCKET/);
  });
});
