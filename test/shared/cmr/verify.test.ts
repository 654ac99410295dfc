import { createHash } from 'node:crypto';
import { syntheticCollection } from '../../../emulators/cmr/fixtures';
import {
  publishedCheckName,
  publishedChecksum,
  PublishedChecksumVerifier,
  type PublishedChecksum,
} from '../../../shared/cmr';

const { objects } = syntheticCollection({
  conceptId: 'C9-EMU',
  shortName: 'V',
  version: '1',
  granules: 2,
  files: [
    { suffix: '.md5', size: 5000, checksum: 'MD5' },
    { suffix: '.sha1', size: 5000, checksum: 'SHA-1' },
    { suffix: '.sha256', size: 5000, checksum: 'SHA-256' },
    { suffix: '.sha512', size: 5000, checksum: 'SHA-512' },
  ],
  corrupt: (g) => g === 1,
});

/** Streams `body` through a verifier in uneven chunks. */
function verify(body: Buffer, checksum: PublishedChecksum): PublishedChecksumVerifier {
  const verifier = new PublishedChecksumVerifier(checksum);
  for (let offset = 0; offset < body.length; offset += 777)
    verifier.update(body.subarray(offset, offset + 777));
  return verifier;
}

const published = (o: (typeof objects)[number]): PublishedChecksum => {
  const { checksum } = publishedChecksum({ Algorithm: o.checksum?.algorithm, Value: o.checksum?.value });
  return checksum as PublishedChecksum;
};

describe('PublishedChecksumVerifier', () => {
  it.each(objects.slice(0, 4).map((o) => [o.checksum?.algorithm, o] as const))(
    'accepts the bytes a %s checksum was published for',
    (_algorithm, object) => {
      const verifier = verify(object.body, published(object));
      expect(verifier.matches()).toBe(true);
      expect(verifier.actual).toBe(object.checksum?.value);
    },
  );

  it.each(objects.slice(4).map((o) => [o.checksum?.algorithm, o] as const))(
    'refuses bytes whose published %s checksum is of other bytes',
    (_algorithm, object) => {
      expect(verify(object.body, published(object)).matches()).toBe(false);
    },
  );

  it('compares with an upper-case or base64 published value as normalized', () => {
    const body = Buffer.from('granule bytes');
    const md5 = createHash('md5').update(body).digest();
    for (const Value of [md5.toString('hex').toUpperCase(), md5.toString('base64')]) {
      const { checksum } = publishedChecksum({ Algorithm: 'MD5', Value });
      expect(verify(body, checksum as PublishedChecksum).matches()).toBe(true);
    }
  });

  it('names each check for the report', () => {
    expect(objects.slice(0, 4).map((o) => publishedCheckName(published(o)))).toEqual([
      'md5-published',
      'sha1-published',
      'sha256-published',
      'sha512-published',
    ]);
  });
});
