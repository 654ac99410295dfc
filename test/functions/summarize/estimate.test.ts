/**
 * The dry run's estimator, against counts and dollars computed by hand from the rules in docs/cost.md.
 */
import {
  PlanEstimator,
  estimateSettingsFromEnv,
  type EstimateSettings,
} from '../../../functions/summarize/estimate';
import type { GiantObject, ManifestItem, PlanOutput, TokenReference } from '../../../shared/contracts';
import { emptyUnitCounts } from '../../../shared/units';

const MiB = 1024 * 1024;

const object = (key: string, size: number): ManifestItem => ({
  Key: key,
  DestKey: key,
  Size: size,
  ETag: 'e',
});

function plan(overrides: {
  count: number;
  bytes: number;
  sync?: boolean;
  token?: TokenReference;
}): PlanOutput {
  return {
    Manifest: { Bucket: 'staging', Key: 'runs/r/manifest.jsonl' },
    Count: overrides.count,
    Bytes: overrides.bytes,
    Units: { ...emptyUnitCounts(), Lines: 0 },
    DryRun: true,
    BatchInput: {
      CredentialsEndpoint: 'https://tea.example.earthdatacloud.nasa.gov/s3credentials',
      Token: overrides.token ?? { Kind: 'bearer-parameter', Parameter: '/s3-direct-transfer/t' },
      SourceBucket: 'src',
      DestBucket: 'dst',
      Sync: overrides.sync ?? false,
      RunId: 'r',
    },
    Staging: { Bucket: 'staging', Prefix: 'runs/r' },
  };
}

/** Round numbers: 1 MiB/s, 1 GB of memory everywhere, 2 objects at once. */
const SETTINGS: EstimateSettings = {
  maxConcurrency: 10,
  objectsAtOnce: 2,
  copyMemoryMb: 1024,
  otherMemoryMb: 1024,
  architecture: 'arm64',
  lambdaTimeoutSeconds: 900,
  bytesPerSecond: MiB,
  perObjectSeconds: 0.1,
  perUnitSeconds: 0.2,
  partSize: 8 * MiB,
};

describe('PlanEstimator', () => {
  it('counts a pack of three small objects and one 20 MiB object unit', () => {
    const estimator = new PlanEstimator(plan({ count: 4, bytes: 23 * MiB }), SETTINGS);
    estimator.addUnit({ Pack: [object('a', MiB), object('b', MiB), object('c', MiB)] });
    estimator.addUnit(object('d', 20 * MiB));
    const estimate = estimator.result();

    // Two children: 1 start + 3 states each, after the run's 6 states.
    // PUT class: 3 PutObject; 20 MiB = 3 parts + Create + Complete = 5; 1 listing page; 4 run files.
    // GET class: 4 GETs + the manifest and the report read back.
    // Token: Plan and 2 containers read the parameter, each a KMS Decrypt.
    expect(estimate.Usage).toEqual({
      StateTransitions: 14,
      ChildExecutions: 2,
      LambdaInvocations: 4,
      // Pack: ceil(3/2) x 0.1 + 3 s; object: 0.1 + 20 s; Plan and Summarize: 2 x (1 + 4/10,000) s.
      LambdaGbSeconds: 25.301,
      S3PutCopyPostList: 13,
      S3GetHeadOther: 6,
      KmsRequests: 3,
      SsmApiCalls: 3,
    });
    // Plan + Summarize 2.0008 s, then the longest child (20.1 + 0.2 s) bounds the map: 2 at once.
    expect(estimate.Time).toEqual({
      Seconds: 23,
      Concurrency: 10,
      LambdaBytesPerSecond: MiB,
      PerObjectSeconds: 0.1,
    });
    expect(estimate.CostUsd).toEqual({
      StepFunctions: 0.00035, // 14 x $0.025 / 1,000
      Lambda: 0.000338, // 4 x $0.20 / 1M + 25.301 GB-s x $0.0000133334
      S3Requests: 0.000067, // 13 x $0.005 / 1,000 + 6 x $0.0004 / 1,000
      KmsSsm: 0.000009, // 3 x $0.03 / 10,000; standard parameters' API is free
      Total: 0.000765, // 0.00035 + 0.00033815 + 0.0000674 + 0.000009, rounded
    });
    expect(estimate).toMatchObject({ Objects: 4, Bytes: 23 * MiB, Giants: [] });
  });

  it('counts a giant object: its ranges as children, deadline rounds, and the steps around the Map', () => {
    const giant: GiantObject = {
      Giant: 0,
      Key: 'g',
      DestKey: 'g',
      Size: 40 * MiB,
      ETag: 'e',
      PartSize: 8 * MiB,
      Parts: 5,
      Ranges: 2,
    };
    const range = (first: number, last: number) => ({
      Range: {
        Key: 'g',
        DestKey: 'g',
        Size: 40 * MiB,
        ETag: 'e',
        Giant: 0,
        PartSize: 8 * MiB,
        FirstPart: first,
        LastPart: last,
      },
    });
    const estimator = new PlanEstimator(plan({ count: 1, bytes: 40 * MiB }), {
      ...SETTINGS,
      lambdaTimeoutSeconds: 10,
      architecture: 'x86_64',
    });
    estimator.addUnit(range(1, 4)); // 32 MiB: 32.1 s, 4 rounds of 10 s
    estimator.addUnit(range(5, 5)); // 8 MiB: 8.1 s, 1 round
    estimator.addGiant(giant);
    const estimate = estimator.result();

    expect(estimate.Usage).toMatchObject({
      // 6 + 4 giant states; children: (1 + 3 x 4) + (1 + 3).
      StateTransitions: 27,
      ChildExecutions: 2,
      // 5 rounds, PrepareGiants, CompleteGiants, Plan, Summarize.
      LambdaInvocations: 9,
      // Parts 4 + 1, ListParts a round (4 + 1); Create, its record, 1 ListParts page, Complete, the result
      // record; 1 listing page and 4 run files.
      S3PutCopyPostList: 10 + 5 + 5,
      // A GET per part and the upload record per range; the completed object's HEAD; manifest and report.
      S3GetHeadOther: 5 + 2 + 1 + 2,
    });
    // 40.2 s of ranges, PrepareGiants and CompleteGiants 2 x (1 + 1/50) s, Plan and Summarize 2 x 1.0001 s.
    expect(estimate.Usage.LambdaGbSeconds).toBe(44.24);
    // x86 duration: 44.24 x $0.0000166667 + 9 x $0.20 / 1M.
    expect(estimate.CostUsd.Lambda).toBe(0.000739);
    expect(estimate.Giants).toEqual([{ Key: 'g', Size: 40 * MiB, PartSize: 8 * MiB, Parts: 5, Ranges: 2 }]);
    // 2.0002 + 2.04 + the longest child, 32.1 + 4 x 0.2 s.
    expect(estimate.Time.Seconds).toBe(37);
  });

  it('HEADs the destination per object with Sync, and reads a staged token from S3 per container', () => {
    const staged: TokenReference = {
      Kind: 'staged',
      Bucket: 'staging',
      Key: 'runs/r/token',
      TokenKind: 'bearer',
    };
    const estimator = new PlanEstimator(plan({ count: 3, bytes: 3, sync: true, token: staged }), SETTINGS);
    estimator.addUnit({ Pack: [object('a', 1), object('b', 1)] });
    estimator.addUnit(object('c', 1));
    const { Usage } = estimator.result();
    // 3 GETs + 3 HEADs, manifest and report, and 2 containers' token reads.
    expect(Usage.S3GetHeadOther).toBe(10);
    // Plan's GenerateDataKey and a Decrypt per container; no SSM.
    expect(Usage).toMatchObject({ KmsRequests: 3, SsmApiCalls: 0 });
  });

  it('counts a mirror’s deletions: AnyDeletes, and DeleteMirrored when there is something to delete', () => {
    const base = { count: 1, bytes: MiB };
    const without = new PlanEstimator(plan(base), SETTINGS);
    without.addUnit(object('a', MiB));
    const deleting = new PlanEstimator(
      {
        ...plan(base),
        Deletes: { Count: 3, Bytes: 3, Bucket: 'staging', Key: 'd', Within: 'x/', MaxDeletes: 10 },
      },
      SETTINGS,
    );
    deleting.addUnit(object('a', MiB));
    const nothingToDelete = new PlanEstimator(
      {
        ...plan(base),
        Deletes: { Count: 0, Bytes: 0, Bucket: 'staging', Key: 'd', Within: 'x/', MaxDeletes: 10 },
      },
      SETTINGS,
    );
    nothingToDelete.addUnit(object('a', MiB));
    const a = without.result().Usage;
    const b = deleting.result().Usage;
    const c = nothingToDelete.result().Usage;
    // AnyDeletes and DeleteMirrored: two more states, and one more copy-function invocation.
    expect(b.StateTransitions - a.StateTransitions).toBe(2);
    expect(b.LambdaInvocations - a.LambdaInvocations).toBe(1);
    // Nothing to delete: AnyDeletes only.
    expect(c.StateTransitions - a.StateTransitions).toBe(1);
    expect(c.LambdaInvocations).toBe(a.LambdaInvocations);
  });

  it('leaves out objects the plan knew would fail', () => {
    const estimator = new PlanEstimator(plan({ count: 2, bytes: 1 }), SETTINGS);
    estimator.addUnit({ Pack: [object('a', 1), { Key: 'gone', DestKey: 'gone', Error: 'SourceNotFound' }] });
    // 1 PutObject, 1 listing page, 4 run files.
    expect(estimator.result().Usage.S3PutCopyPostList).toBe(6);
  });

  it('reads the deployment from the environment, ignoring what is not a positive number', () => {
    expect(
      estimateSettingsFromEnv({
        MAX_CONCURRENCY: '40',
        COPY_MEMORY_MB: '3008',
        COPY_TIMEOUT_SECONDS: 'x',
        COPY_PART_SIZE_MIB: '16',
      }),
    ).toEqual({
      maxConcurrency: 40,
      objectsAtOnce: undefined,
      copyMemoryMb: 3008,
      lambdaTimeoutSeconds: undefined,
      partSize: 16 * MiB,
    });
  });
});
