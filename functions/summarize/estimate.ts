/**
 * What a dry run's plan would take and cost on the deployed pipeline: fed the manifest's units and the
 * giant objects one at a time (memory stays flat), it counts the state transitions, Lambda invocations and
 * GB-seconds, S3, KMS and SSM requests the run would make, and the time it would take at the configured
 * concurrency. docs/cost.md explains every term; the prices are shared/cost.ts's.
 */
import {
  costOf,
  MAX_GIANTS_LISTED,
  PRICES_AS_OF,
  PRICES_REGION,
  type Estimate,
  type LambdaArchitecture,
} from '../../shared/cost';
import type { GiantObject, PlanOutput, WorkUnit } from '../../shared/contracts';
import { LAMBDA_BYTES_PER_SECOND, unitObjects } from '../../shared/units';

const MiB = 1024 * 1024;

export interface EstimateSettings {
  /** Child executions at once (the Distributed Map's MaxConcurrency). @default 100 */
  readonly maxConcurrency?: number;
  /** Objects one CopyBatch invocation copies at once (`COPY_CONCURRENCY`). @default 8 */
  readonly objectsAtOnce?: number;
  /** @default 1769 */
  readonly copyMemoryMb?: number;
  /** Plan's and Summarize's memory. @default 1024 */
  readonly otherMemoryMb?: number;
  /** @default 'arm64' */
  readonly architecture?: LambdaArchitecture;
  /** The copy Lambda's timeout. @default 900 */
  readonly lambdaTimeoutSeconds?: number;
  /** Bytes per second one copy Lambda moves. @default LAMBDA_BYTES_PER_SECOND */
  readonly bytesPerSecond?: number;
  /** Per object: the first-byte waits of its GET and its PUT. @default 0.1 */
  readonly perObjectSeconds?: number;
  /** Per child execution: Step Functions starting it and invoking its Lambda. @default 0.2 */
  readonly perUnitSeconds?: number;
  /** Part size of a multipart copy (`COPY_PART_SIZE_MIB`). @default 8 MiB */
  readonly partSize?: number;
  /** @default 'standard' */
  readonly ssmTier?: 'standard' | 'advanced';
}

export const ESTIMATE_DEFAULTS: Required<EstimateSettings> = {
  maxConcurrency: 100,
  objectsAtOnce: 8,
  copyMemoryMb: 1769,
  otherMemoryMb: 1024,
  architecture: 'arm64',
  lambdaTimeoutSeconds: 900,
  bytesPerSecond: LAMBDA_BYTES_PER_SECOND,
  perObjectSeconds: 0.1,
  perUnitSeconds: 0.2,
  partSize: 8 * MiB,
  ssmTier: 'standard',
};

/** Plan lists (and Summarize reads back) about this many objects a second: 1,000-key pages at ~100 ms. */
const OBJECTS_LISTED_PER_SECOND = 10_000;
/** ListObjectsV2 and ListParts return at most 1,000 entries a page. */
const PAGE = 1000;
/** Top-level states one run enters: Plan, NothingToCopy, CopyObjects, AnyGiants, MirrorDeletes, Summarize. */
const RUN_STATES = 6;
/** With `Options.Delete` also AnyDeletes, and DeleteMirrored when there is something to delete. */
const DELETE_RUN_STATES = 1;
/** With giant objects also PrepareGiants, MoreToPrepare, CompleteGiants, MoreToComplete. */
const GIANT_RUN_STATES = 4;
/** A child's start is billed as one transition; each round enters CopyBatch, MoreToDo, then CarryOn or UnitDone. */
const CHILD_START_TRANSITIONS = 1;
const TRANSITIONS_PER_ROUND = 3;

/** Counts a plan's work unit by unit. */
export class PlanEstimator {
  private readonly s: Required<EstimateSettings>;
  private children = 0;
  private rounds = 0;
  private childTransitions = 0;
  private copySeconds = 0;
  /** Sum and longest of the child executions' wall time. */
  private unitWall = 0;
  private longestUnit = 0;
  private putPostList = 0;
  private getHeadOther = 0;
  private giants = 0;
  private readonly listed: Estimate['Giants'] = [];

  constructor(
    private readonly plan: PlanOutput,
    settings: EstimateSettings = {},
  ) {
    this.s = { ...ESTIMATE_DEFAULTS, ...definedOnly(settings) };
  }

  /** One manifest line. */
  addUnit(unit: WorkUnit): void {
    if ('Range' in unit) {
      const r = unit.Range;
      const parts = r.LastPart - r.FirstPart + 1;
      const bytes = Math.min(r.Size, r.LastPart * r.PartSize) - (r.FirstPart - 1) * r.PartSize;
      // One ranged GET and one UploadPart per part, ListParts each round, the upload record read once.
      const rounds = this.child(this.s.perObjectSeconds + bytes / this.s.bytesPerSecond);
      this.getHeadOther += parts + 1;
      this.putPostList += parts + rounds;
      return;
    }
    const objects = unitObjects(unit).filter((o) => o.Error === undefined);
    let bytes = 0;
    for (const object of objects) {
      const size = object.Size ?? 0;
      bytes += size;
      // GET the source (HEAD the destination too with Sync); one PutObject, or a multipart upload.
      this.getHeadOther += this.plan.BatchInput?.Sync ? 2 : 1;
      this.putPostList += size <= this.s.partSize ? 1 : 2 + Math.ceil(size / this.s.partSize);
    }
    const waits = Math.ceil(objects.length / this.s.objectsAtOnce) * this.s.perObjectSeconds;
    this.child(waits + bytes / this.s.bytesPerSecond);
  }

  /** One line of `giants.jsonl`: its upload created, checked and completed around the Map. */
  addGiant(giant: GiantObject): void {
    this.giants++;
    if (this.listed.length < MAX_GIANTS_LISTED) {
      const { Key, Size, PartSize, Parts, Ranges } = giant;
      this.listed.push({ Key, Size, PartSize, Parts, Ranges });
    }
    // CreateMultipartUpload and its record; ListParts pages, CompleteMultipartUpload and the result record.
    this.putPostList += 2 + Math.ceil(giant.Parts / PAGE) + 2;
    // HEAD of the completed object.
    this.getHeadOther += 1;
  }

  result(): Estimate {
    const s = this.s;
    const plan = this.plan;
    const objects = plan.Count;
    const hasGiants = this.giants > 0;
    const deletes = plan.Deletes?.Count ?? 0;
    const deleteStep = deletes > 0 ? 1 : 0;
    const copyInvocations = this.rounds + (hasGiants ? 2 : 0) + deleteStep;
    const listSeconds = 1 + objects / OBJECTS_LISTED_PER_SECOND;
    // Plan, Summarize, and around the Map PrepareGiants and CompleteGiants (one page each per 1,000).
    const giantSteps = hasGiants ? 2 * (1 + this.giants / 50) : 0;
    const concurrency = Math.max(1, Math.min(s.maxConcurrency, this.children || 1));
    const mapSeconds = this.children > 0 ? Math.max(this.unitWall / concurrency, this.longestUnit) : 0;
    // The run the plan describes (its dry run itself enters only Plan, NothingToCopy, MirrorDeletes and
    // Summarize).
    const transitions =
      RUN_STATES +
      (hasGiants ? GIANT_RUN_STATES : 0) +
      (plan.Deletes ? DELETE_RUN_STATES + deleteStep : 0) +
      this.childTransitions;
    // Copy Lambdas warm up to `concurrency` containers; each reads the token once (SSM or staged object).
    const containers = this.children > 0 ? concurrency : 0;
    const parameter = plan.BatchInput?.Token?.Kind === 'bearer-parameter';
    // Plan reads the parameter, or encrypts the staged token once; every container reads it once.
    const tokenRequests = 1 + containers;
    const usage: Estimate['Usage'] = {
      StateTransitions: transitions,
      ChildExecutions: this.children,
      LambdaInvocations: copyInvocations + 2,
      LambdaGbSeconds: round3(
        (this.copySeconds + giantSteps) * (s.copyMemoryMb / 1024) +
          2 * listSeconds * (s.otherMemoryMb / 1024),
      ),
      // Plan's listing pages, its manifest and the report; ResultWriter's files.
      S3PutCopyPostList: this.putPostList + Math.ceil(objects / PAGE) + 4,
      S3GetHeadOther: this.getHeadOther + 2 + (parameter ? 0 : containers),
      // SecureString GetParameter decrypts with KMS; a staged token is encrypted once and decrypted per read.
      KmsRequests: tokenRequests,
      SsmApiCalls: parameter ? tokenRequests : 0,
    };
    return {
      Units: plan.Units,
      Objects: objects,
      Bytes: plan.Bytes,
      Giants: this.listed,
      Time: {
        Seconds: Math.ceil(2 * listSeconds + giantSteps + mapSeconds),
        Concurrency: s.maxConcurrency,
        LambdaBytesPerSecond: s.bytesPerSecond,
        PerObjectSeconds: s.perObjectSeconds,
      },
      Usage: usage,
      CostUsd: costOf(
        {
          transitions: usage.StateTransitions,
          lambdaInvocations: usage.LambdaInvocations,
          lambdaGbSeconds: usage.LambdaGbSeconds,
          s3PutCopyPostList: usage.S3PutCopyPostList,
          s3GetHeadOther: usage.S3GetHeadOther,
          kmsRequests: usage.KmsRequests,
          ssmApiCalls: usage.SsmApiCalls,
        },
        { architecture: s.architecture, ssmTier: s.ssmTier },
      ),
      Prices: { Region: PRICES_REGION, AsOf: PRICES_AS_OF, Source: 'docs/cost.md' },
    };
  }

  /** A child execution whose Lambda works `seconds`: its rounds (one per timeout), transitions and wall. */
  private child(seconds: number): number {
    const rounds = Math.max(1, Math.ceil(seconds / this.s.lambdaTimeoutSeconds));
    this.children++;
    this.rounds += rounds;
    this.childTransitions += CHILD_START_TRANSITIONS + TRANSITIONS_PER_ROUND * rounds;
    this.copySeconds += seconds;
    const wall = seconds + this.s.perUnitSeconds * rounds;
    this.unitWall += wall;
    this.longestUnit = Math.max(this.longestUnit, wall);
    return rounds;
  }
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function definedOnly<T extends object>(settings: T): Partial<T> {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `MAX_CONCURRENCY`, `COPY_CONCURRENCY`, `COPY_MEMORY_MB`, `COPY_TIMEOUT_SECONDS`, `COPY_PART_SIZE_MIB`. */
export function estimateSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EstimateSettings {
  const positive = (name: string): number | undefined => {
    const value = Number(env[name]);
    return env[name] && Number.isFinite(value) && value > 0 ? value : undefined;
  };
  const partMiB = positive('COPY_PART_SIZE_MIB');
  return {
    maxConcurrency: positive('MAX_CONCURRENCY'),
    objectsAtOnce: positive('COPY_CONCURRENCY'),
    copyMemoryMb: positive('COPY_MEMORY_MB'),
    lambdaTimeoutSeconds: positive('COPY_TIMEOUT_SECONDS'),
    partSize: partMiB !== undefined ? partMiB * MiB : undefined,
  };
}
