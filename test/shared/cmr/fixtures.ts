import { syntheticCollection, type SyntheticCollectionSpec } from '../../../emulators/cmr/fixtures';

/**
 * The tests' main collection: 250 granules of 3 hours from 2024-01-01, two files each (a .nc with a
 * published SHA-256, a .json with MD5), as C1200000001-EMU_CLOUD, EMU-SST version 1.0.
 */
export const emulatedSst = (spec: Partial<SyntheticCollectionSpec> = {}) =>
  syntheticCollection({
    conceptId: 'C1200000001-EMU_CLOUD',
    shortName: 'EMU-SST',
    version: '1.0',
    granules: 250,
    ...spec,
  });
