import type { ItemResult } from '../../shared/contracts';
import {
  copyBatchCounts,
  createMetrics,
  METRICS_NAMESPACE,
  recordCopyBatch,
  recordPlan,
} from '../../shared/metrics';

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** Runs `fn` and returns the EMF documents it printed on stdout. */
function captureEmf(fn: () => void): Emf[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
}

/** name -> [unit, value] of one EMF document. */
const valuesOf = (emf: Emf): Record<string, [string, unknown]> =>
  Object.fromEntries(emf._aws.CloudWatchMetrics[0].Metrics.map((m) => [m.Name, [m.Unit, emf[m.Name]]]));

const savedEnv = { ...process.env };
beforeEach(() => {
  process.env = { ...savedEnv };
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_METRICS_NAMESPACE;
});
afterAll(() => {
  process.env = savedEnv;
});

describe('recordCopyBatch', () => {
  it('emits one EMF document: the five metrics with their units, in namespace S3DirectTransfer, by service', () => {
    const [emf, ...rest] = captureEmf(() =>
      recordCopyBatch(createMetrics('copy'), {
        bytesCopied: 123_456_789,
        copied: 12,
        skipped: 3,
        failed: 1,
        credentialRefreshes: 2,
      }),
    );
    expect(rest).toEqual([]);
    expect(emf._aws.CloudWatchMetrics).toHaveLength(1);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(METRICS_NAMESPACE).toBe('S3DirectTransfer');
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(emf.service).toBe('copy');
    expect(valuesOf(emf)).toEqual({
      BytesCopied: ['Bytes', 123_456_789],
      ObjectsCopied: ['Count', 12],
      ObjectsSkipped: ['Count', 3],
      ObjectsFailed: ['Count', 1],
      CredentialRefreshes: ['Count', 2],
    });
  });

  it('emits zeros too (a batch that only deferred), and each call on its own', () => {
    const metrics = createMetrics('copy');
    const zero = { bytesCopied: 0, copied: 0, skipped: 0, failed: 0, credentialRefreshes: 0 };
    const emfs = captureEmf(() => {
      recordCopyBatch(metrics, zero);
      recordCopyBatch(metrics, { ...zero, copied: 1, bytesCopied: 10 });
    });
    expect(emfs.map((e) => [e.ObjectsCopied, e.BytesCopied])).toEqual([
      [0, 0],
      [1, 10],
    ]);
  });

  it('takes the namespace from POWERTOOLS_METRICS_NAMESPACE, as the stack sets it', () => {
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'TeamTransfers';
    const [emf] = captureEmf(() =>
      recordCopyBatch(createMetrics('copy'), {
        bytesCopied: 1,
        copied: 1,
        skipped: 0,
        failed: 0,
        credentialRefreshes: 0,
      }),
    );
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('TeamTransfers');
  });
});

describe('recordPlan', () => {
  it('emits ObjectsPlanned (Count) and BytesPlanned (Bytes)', () => {
    const [emf] = captureEmf(() => recordPlan(createMetrics('plan'), { objects: 42, bytes: 4_200 }));
    expect(emf.service).toBe('plan');
    expect(valuesOf(emf)).toEqual({ ObjectsPlanned: ['Count', 42], BytesPlanned: ['Bytes', 4_200] });
  });
});

describe('copyBatchCounts', () => {
  const result = (Key: string, Status: ItemResult['Status'], Bytes: number): ItemResult => ({
    Key,
    DestKey: Key,
    Status,
    Bytes,
  });

  it("counts this invocation's results only: carried results were counted by the invocation that made them", () => {
    const carried = [result('a', 'COPIED', 100), result('b', 'FAILED', 0)];
    const output = {
      Results: [
        ...carried,
        result('c', 'COPIED', 10),
        result('d', 'COPIED', 5),
        result('e', 'SKIPPED', 999),
        result('f', 'FAILED', 0),
      ],
    };
    expect(copyBatchCounts({ Results: carried }, output)).toEqual({
      bytesCopied: 15,
      copied: 2,
      skipped: 1,
      failed: 1,
    });
    expect(copyBatchCounts({}, output)).toEqual({ bytesCopied: 115, copied: 3, skipped: 1, failed: 2 });
  });
});
