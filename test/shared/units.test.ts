import type { GiantObject, ManifestItem, WorkUnit } from '../../shared/contracts';
import {
  DEFAULT_OBJECTS_PER_PACK,
  giantLayout,
  partBounds,
  PACK_JSON_BYTES,
  S3_MAX_PARTS,
  UnitPacker,
  unitKind,
  unitObjects,
  unitPolicy,
  unitSettingsEnv,
  unitSettingsFromEnv,
} from '../../shared/units';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const object = (n: number, size = 1000, key = `granules/${n}.nc`): ManifestItem => ({
  Key: key,
  DestKey: `copy/${key}`,
  Size: size,
  ETag: `etag${n}`,
});

function pack(
  items: ManifestItem[],
  settings = {},
): { units: WorkUnit[]; giants: GiantObject[]; packer: UnitPacker } {
  const giants: GiantObject[] = [];
  const packer = new UnitPacker(unitPolicy(settings), (g) => giants.push(g));
  const units = [...packer.add(items), ...packer.flush()];
  return { units, giants, packer };
}

describe('unitPolicy', () => {
  it('sizes units for the deployed 15-minute Lambda', () => {
    const p = unitPolicy();
    expect(p.objectsPerPack).toBe(DEFAULT_OBJECTS_PER_PACK);
    expect(p.partFanOutBytes).toBe(4 * GiB);
    expect(p.packBytes).toBe(4 * GiB);
    expect(p.rangeBytes).toBe(1 * GiB);
    expect(p.ownUnitBytes).toBe(1 * GiB);
  });

  it('shrinks every cap with a short timeout, so that a unit still fits in one invocation', () => {
    // 8 s x 75 MB/s / 2 = 300 MB per invocation.
    const p = unitPolicy({ lambdaTimeoutSeconds: 8 });
    expect(p.partFanOutBytes).toBe(300_000_000);
    expect(p.packBytes).toBe(300_000_000);
    expect(p.rangeBytes).toBe(150_000_000);
    expect(p.ownUnitBytes).toBe(37_500_000);
  });

  it('keeps a giant object at least two parts, and a range at least one', () => {
    const p = unitPolicy({ partFanOutBytes: 1, rangeBytes: 1 });
    expect(p.partFanOutBytes).toBe(16 * MiB);
    expect(p.rangeBytes).toBe(8 * MiB);
  });

  it('round-trips its settings through the environment the stack sets', () => {
    const settings = { objectsPerPack: 40, partFanOutBytes: 2 * GiB, lambdaTimeoutSeconds: 600 };
    expect(unitSettingsFromEnv(unitSettingsEnv(settings))).toEqual(settings);
    expect(unitSettingsFromEnv({ OBJECTS_PER_PACK: 'lots', PART_FAN_OUT_BYTES: '-1' })).toEqual({
      objectsPerPack: undefined,
      partFanOutBytes: undefined,
      lambdaTimeoutSeconds: undefined,
    });
  });
});

describe('UnitPacker', () => {
  it('packs small objects by count, in listing order, and counts every object once', () => {
    const items = Array.from({ length: 1201 }, (_, i) => object(i));
    const { units, packer } = pack(items);
    expect(units.map(unitKind)).toEqual(['pack', 'pack', 'pack']);
    expect(units.map((u) => unitObjects(u).length)).toEqual([500, 500, 201]);
    expect(units.flatMap(unitObjects)).toEqual(items);
    expect(packer.counts).toMatchObject({ Packs: 3, PackedObjects: 1201, Objects: 0, Ranges: 0 });
  });

  it('closes a pack before its line outgrows the JSON cap (a child input under 256 KiB)', () => {
    const longKey = (n: number): string => `${'deep/'.repeat(150)}${n}.nc`; // ~760 bytes
    const items = Array.from({ length: 300 }, (_, i) => object(i, 10, longKey(i)));
    const { units } = pack(items);
    expect(units.length).toBeGreaterThan(1);
    for (const unit of units)
      expect(Buffer.byteLength(JSON.stringify(unit))).toBeLessThanOrEqual(PACK_JSON_BYTES);
    expect(units.flatMap(unitObjects)).toHaveLength(300);
  });

  it('closes a pack by bytes, gives medium objects a unit of their own, and a pack of one is an object unit', () => {
    // 8 s timeout: packs up to 300 MB, objects of 37.5 MB and more alone.
    const items = [object(0, 30e6), object(1, 30e6), object(2, 40e6), object(3, 30e6)];
    const { units, packer } = pack(items, { lambdaTimeoutSeconds: 8 });
    expect(units.map(unitKind)).toEqual(['object', 'pack']);
    expect(units[0]).toEqual(items[2]);
    expect(unitObjects(units[1]).map((o) => o.Key)).toEqual([0, 1, 3].map((n) => `granules/${n}.nc`));
    expect(packer.counts).toMatchObject({ Objects: 1, Packs: 1, PackedObjects: 3 });

    const bytesCapped = pack([object(0, 200e6), object(1, 20e6), object(2, 200e6)], {
      lambdaTimeoutSeconds: 16,
      objectsPerPack: 500,
    });
    // 16 s: packs of 600 MB at most, own units from 75 MB: the 200 MB objects go alone.
    expect(bytesCapped.units.map(unitKind)).toEqual(['object', 'object', 'object']);
  });

  it('cuts a giant object into ranges of whole parts that cover it exactly once', () => {
    const size = 10 * GiB + 123;
    const { units, giants, packer } = pack([object(0, 100), object(1, size), object(2, 100)]);
    const ranges = units
      .filter((u) => 'Range' in u)
      .map((u) => (u as { Range: { FirstPart: number; LastPart: number } }).Range);
    expect(giants).toEqual([
      expect.objectContaining({
        Giant: 0,
        Key: 'granules/1.nc',
        Size: size,
        PartSize: 8 * MiB,
        Parts: 1281,
        Ranges: 11,
      }),
    ]);
    expect(ranges).toHaveLength(11);
    expect(ranges[0]).toMatchObject({ FirstPart: 1, LastPart: 128 });
    expect(ranges.at(-1)).toMatchObject({ FirstPart: 1281, LastPart: 1281 });
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].FirstPart).toBe(ranges[i - 1].LastPart + 1);
    // The small objects around it are packed together; the giant counts as no packed object.
    expect(units.filter((u) => 'Pack' in u)).toHaveLength(1);
    expect(packer.counts).toMatchObject({ Giants: 1, GiantBytes: size, Ranges: 11, PackedObjects: 2 });
  });

  it('never plans more than 10,000 parts: a 2.9 TB object gets bigger parts', () => {
    const layout = giantLayout(2.9e12, unitPolicy());
    expect(layout.parts).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(layout.partSize % MiB).toBe(0);
    expect(layout.partSize * layout.parts).toBeGreaterThanOrEqual(2.9e12);
    expect(partBounds(layout.parts, layout.partSize, 2.9e12).end).toBe(2.9e12);
  });

  it('never ranges an object Plan knows to fail, or one without an ETag to pin its ranges to', () => {
    const failed = {
      Key: 'gone',
      DestKey: 'gone',
      Size: 5 * GiB,
      Error: 'SourceNotFound',
      Cause: 'no such key',
    };
    const noETag = { Key: 'big', DestKey: 'big', Size: 5 * GiB };
    const { units, giants } = pack([failed, noETag]);
    expect(giants).toEqual([]);
    expect(units.map(unitKind)).toEqual(['object', 'object']);
    expect(units).toEqual(expect.arrayContaining([failed, noETag]));
  });
});
