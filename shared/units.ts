/**
 * Work units: how Plan cuts a job into the lines of its manifest, one child execution each.
 *
 * - A **pack** holds several small objects, capped by count, by bytes and by the size of its JSON (a
 *   child's input and output must stay under Step Functions' 256 KiB).
 * - An **object** unit holds one medium object: big enough to deserve a Lambda of its own.
 * - A **range** holds a contiguous run of parts of a giant object (over `partFanOutBytes`, or too big to
 *   copy within one invocation): the object's ranges run in parallel in different Lambdas, into one
 *   multipart upload created before the Map and completed after it.
 *
 * The caps are sized from the copy Lambda's timeout and the throughput one Lambda sustains, so that a
 * unit takes a Lambda a few minutes at most (docs/cost.md explains the numbers).
 */
import type { GiantObject, ManifestItem, PartRange, WorkUnit } from './contracts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** S3's limits on multipart uploads. */
export const S3_MAX_PARTS = 10_000;
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PART_SIZE = 5 * GiB;

/**
 * What one copy Lambda sustains from S3 to S3: about 600 Mbit/s at every memory size
 * (sjakthol/aws-network-benchmark), i.e. ~75 MB/s.
 */
export const LAMBDA_BYTES_PER_SECOND = 75_000_000;

export interface UnitSettings {
  /** Objects at most per pack. @default 500 */
  readonly objectsPerPack?: number;
  /** Objects above this many bytes are copied as part ranges. @default 4 GiB */
  readonly partFanOutBytes?: number;
  /** The copy Lambda's timeout in seconds. @default 900 */
  readonly lambdaTimeoutSeconds?: number;
  /** Bytes per second one copy Lambda is assumed to move. @default {@link LAMBDA_BYTES_PER_SECOND} */
  readonly bytesPerSecond?: number;
  /** Bytes per part of a giant object (raised to fit S3's 10,000 parts). @default 8 MiB */
  readonly partSize?: number;
  /** Target bytes of one range unit. @default 1 GiB, or half of what a Lambda moves in half its timeout */
  readonly rangeBytes?: number;
}

/** The caps a plan packs with, all derived from {@link UnitSettings}. */
export interface UnitPolicy {
  readonly objectsPerPack: number;
  /** JSON bytes of a pack's manifest line. */
  readonly packJsonBytes: number;
  /** Bytes of the objects of one pack. */
  readonly packBytes: number;
  /** Objects of at least this many bytes get a unit of their own. */
  readonly ownUnitBytes: number;
  /** Objects above this many bytes are copied as part ranges. */
  readonly partFanOutBytes: number;
  /** Target bytes of one range unit (a whole number of parts). */
  readonly rangeBytes: number;
  readonly partSize: number;
}

export const DEFAULT_OBJECTS_PER_PACK = 500;
export const DEFAULT_PART_FAN_OUT_BYTES = 4 * GiB;
export const DEFAULT_LAMBDA_TIMEOUT_SECONDS = 900;
export const DEFAULT_GIANT_PART_SIZE = 8 * MiB;

/**
 * A pack's line stays under this many bytes of JSON: its results (which repeat the keys and add a status
 * and a check) then stay under ~120 KiB, and a child's input and output under the 256 KiB limit.
 */
export const PACK_JSON_BYTES = 96 * KiB;

/** Ceiling of a pack's bytes and of a range unit's bytes, whatever the timeout (~1 minute at 75 MB/s). */
const PACK_BYTES_CEILING = 4 * GiB;
const RANGE_BYTES_CEILING = 1 * GiB;

export function unitPolicy(settings: UnitSettings = {}): UnitPolicy {
  const timeout = settings.lambdaTimeoutSeconds ?? DEFAULT_LAMBDA_TIMEOUT_SECONDS;
  const rate = settings.bytesPerSecond ?? LAMBDA_BYTES_PER_SECOND;
  // What a Lambda moves in half its timeout: a unit must leave room for slow starts and retries.
  const budget = Math.max(S3_MIN_PART_SIZE, Math.floor(timeout * rate * 0.5));
  const partSize = settings.partSize ?? DEFAULT_GIANT_PART_SIZE;
  const fanOut = Math.min(settings.partFanOutBytes ?? DEFAULT_PART_FAN_OUT_BYTES, budget);
  return {
    objectsPerPack: settings.objectsPerPack ?? DEFAULT_OBJECTS_PER_PACK,
    packJsonBytes: PACK_JSON_BYTES,
    packBytes: Math.min(PACK_BYTES_CEILING, budget),
    ownUnitBytes: Math.min(GiB, Math.max(S3_MIN_PART_SIZE, Math.floor(budget / 8))),
    partFanOutBytes: Math.max(fanOut, 2 * partSize),
    rangeBytes: Math.max(
      partSize,
      settings.rangeBytes ?? Math.min(RANGE_BYTES_CEILING, Math.floor(budget / 2)),
    ),
    partSize,
  };
}

/** The part size of a giant object: the policy's, raised to fit S3's 10,000 parts (whole MiB). */
export function giantPartSize(size: number, policy: Pick<UnitPolicy, 'partSize'>): number {
  const minimum = Math.ceil(size / S3_MAX_PARTS / MiB) * MiB;
  return Math.min(S3_MAX_PART_SIZE, Math.max(policy.partSize, minimum, S3_MIN_PART_SIZE));
}

/** Parts of a giant object and how many go in each range unit. */
export function giantLayout(
  size: number,
  policy: Pick<UnitPolicy, 'partSize' | 'rangeBytes'>,
): { partSize: number; parts: number; partsPerRange: number; ranges: number } {
  const partSize = giantPartSize(size, policy);
  const parts = Math.max(1, Math.ceil(size / partSize));
  const partsPerRange = Math.max(1, Math.floor(policy.rangeBytes / partSize));
  return { partSize, parts, partsPerRange, ranges: Math.ceil(parts / partsPerRange) };
}

/** Bytes [start, end) of part `partNumber` (1-based) of an object of `size` bytes. */
export function partBounds(
  partNumber: number,
  partSize: number,
  size: number,
): { start: number; end: number } {
  const start = (partNumber - 1) * partSize;
  return { start, end: Math.min(size, start + partSize) };
}

export type UnitKind = 'pack' | 'object' | 'range';

export function unitKind(unit: WorkUnit): UnitKind {
  if ('Pack' in unit) return 'pack';
  if ('Range' in unit) return 'range';
  return 'object';
}

/** The objects a unit copies (a range copies part of one, counted by the CompleteGiants step). */
export function unitObjects(unit: WorkUnit): ManifestItem[] {
  if ('Pack' in unit) return Array.isArray(unit.Pack) ? unit.Pack : [];
  if ('Range' in unit) return [];
  return [unit];
}

/** Counts of a plan, by unit kind, with objects and bytes. */
export interface UnitCounts {
  Packs: number;
  PackedObjects: number;
  Objects: number;
  Ranges: number;
  /** Giant objects (copied as ranges) and their bytes. */
  Giants: number;
  GiantBytes: number;
}

export function emptyUnitCounts(): UnitCounts {
  return { Packs: 0, PackedObjects: 0, Objects: 0, Ranges: 0, Giants: 0, GiantBytes: 0 };
}

const jsonLength = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * Cuts a stream of listed objects into units, in listing order, holding at most one open pack: memory
 * stays flat whatever the number of objects. Giant objects come out as their range units, and are also
 * handed to `onGiant` (Plan lists them in `giants.jsonl`).
 */
export class UnitPacker {
  readonly counts = emptyUnitCounts();
  private pack: ManifestItem[] = [];
  private packBytes = 0;
  private packJson = 0;

  constructor(
    private readonly policy: UnitPolicy,
    private readonly onGiant: (giant: GiantObject) => void,
  ) {}

  /** The units completed by these objects (a pack still filling up stays open). */
  add(items: readonly ManifestItem[]): WorkUnit[] {
    const out: WorkUnit[] = [];
    for (const item of items) {
      const size = item.Size ?? 0;
      if (item.Error === undefined && item.ETag && size > this.policy.partFanOutBytes) {
        out.push(...this.giant(item, size, item.ETag));
      } else if (item.Error === undefined && size >= this.policy.ownUnitBytes) {
        this.counts.Objects++;
        out.push(item);
      } else {
        const line = jsonLength(item) + 1;
        const full =
          this.pack.length >= this.policy.objectsPerPack ||
          this.packJson + line > this.policy.packJsonBytes ||
          (this.pack.length > 0 && this.packBytes + size > this.policy.packBytes);
        if (full) out.push(...this.flush());
        this.pack.push(item);
        this.packBytes += size;
        this.packJson += line;
      }
    }
    return out;
  }

  /** The last open pack. */
  flush(): WorkUnit[] {
    if (this.pack.length === 0) return [];
    const pack = this.pack;
    this.pack = [];
    this.packBytes = 0;
    this.packJson = 0;
    // A pack of one is an object unit: the same work, a smaller line.
    if (pack.length === 1) {
      this.counts.Objects++;
      return [pack[0]];
    }
    this.counts.Packs++;
    this.counts.PackedObjects += pack.length;
    return [{ Pack: pack }];
  }

  private giant(item: ManifestItem, size: number, eTag: string): WorkUnit[] {
    const layout = giantLayout(size, this.policy);
    const giant: GiantObject = {
      Giant: this.counts.Giants,
      Key: item.Key,
      ...(item.Bucket !== undefined && { Bucket: item.Bucket }),
      ...(item.GranuleUR !== undefined && { GranuleUR: item.GranuleUR }),
      ...(item.Checksum !== undefined && { Checksum: item.Checksum }),
      DestKey: item.DestKey,
      Size: size,
      ETag: eTag,
      PartSize: layout.partSize,
      Parts: layout.parts,
      Ranges: layout.ranges,
    };
    this.counts.Giants++;
    this.counts.GiantBytes += size;
    this.counts.Ranges += layout.ranges;
    this.onGiant(giant);
    const units: WorkUnit[] = [];
    for (let first = 1; first <= layout.parts; first += layout.partsPerRange) {
      const range: PartRange = {
        Key: item.Key,
        ...(item.Bucket !== undefined && { Bucket: item.Bucket }),
        DestKey: item.DestKey,
        Size: size,
        ETag: eTag,
        Giant: giant.Giant,
        PartSize: layout.partSize,
        FirstPart: first,
        LastPart: Math.min(layout.parts, first + layout.partsPerRange - 1),
      };
      units.push({ Range: range });
    }
    return units;
  }
}

/** The environment Plan reads its unit settings from (set by the stack). */
export function unitSettingsEnv(settings: UnitSettings): Record<string, string> {
  return {
    ...(settings.objectsPerPack !== undefined && { OBJECTS_PER_PACK: String(settings.objectsPerPack) }),
    ...(settings.partFanOutBytes !== undefined && { PART_FAN_OUT_BYTES: String(settings.partFanOutBytes) }),
    ...(settings.lambdaTimeoutSeconds !== undefined && {
      COPY_TIMEOUT_SECONDS: String(settings.lambdaTimeoutSeconds),
    }),
  };
}

/** `OBJECTS_PER_PACK`, `PART_FAN_OUT_BYTES`, `COPY_TIMEOUT_SECONDS` (unset or invalid: the defaults). */
export function unitSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): UnitSettings {
  const positive = (name: string): number | undefined => {
    const value = Number(env[name]);
    return env[name] && Number.isSafeInteger(value) && value > 0 ? value : undefined;
  };
  return {
    objectsPerPack: positive('OBJECTS_PER_PACK'),
    partFanOutBytes: positive('PART_FAN_OUT_BYTES'),
    lambdaTimeoutSeconds: positive('COPY_TIMEOUT_SECONDS'),
  };
}
