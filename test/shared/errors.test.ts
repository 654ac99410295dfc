import { ErrorName, TransferError, isNamed } from '../../shared/errors';

describe('named errors', () => {
  it('carries its name for Retry/Catch matching', () => {
    const e = new TransferError(ErrorName.SourceNotFound, 'no such key');
    expect(e.name).toBe('SourceNotFound');
    expect(isNamed(e, 'SourceNotFound')).toBe(true);
    expect(isNamed(e, 'InvalidInput')).toBe(false);
  });
});
