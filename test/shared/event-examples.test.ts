import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventAuth, isCollectionEvent, parseAnyEvent, type AnyTransferEvent } from '../../shared/event';

const EXAMPLES = join(__dirname, '..', '..', 'docs', 'examples');
const files = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.json'))
  .sort();

const load = (name: string): AnyTransferEvent =>
  parseAnyEvent(JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')));

describe('docs/examples', () => {
  it('has one example per source form and authentication', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'collection.json',
        'jwt-cookie.json',
        'keys.json',
        'prefix.json',
        'single-key.json',
        'ssm-token.json',
        'sync-delete.json',
      ]),
    );
  });

  it.each(files)('%s is a valid event', (name) => {
    expect(() => load(name)).not.toThrow();
  });

  it.each(files)('%s holds a placeholder, not a real token', (name) => {
    const auth = eventAuth(load(name));
    if (auth.kind === 'bearer') expect(auth.token).toMatch(/^<.+>$/);
    if (auth.kind === 'cookie') expect(auth.jwt).toMatch(/^<.+>$/);
  });

  it('shows each form', () => {
    const single = load('single-key.json');
    expect('Key' in single.Source && single.Dest.Key).toBeTruthy();
    const prefix = load('prefix.json');
    expect('Prefix' in prefix.Source && prefix.Source.Include && prefix.Source.Exclude).toBeTruthy();
    expect(prefix.Dest.Prefix).toBeDefined();
    expect('Keys' in load('keys.json').Source).toBe(true);
    const ssm = load('ssm-token.json');
    expect(eventAuth(ssm).kind).toBe('bearer-parameter');
    expect(ssm.Options.Sync).toBe(true);
    expect(eventAuth(load('jwt-cookie.json')).kind).toBe('cookie');
    const mirror = load('sync-delete.json');
    expect(mirror.Options).toEqual({ Sync: true, DryRun: false, Delete: true, MaxDeletes: 50 });
    const collection = load('collection.json');
    expect(isCollectionEvent(collection) && collection.CredentialsEndpoint === undefined).toBe(true);
    expect(
      isCollectionEvent(collection) && collection.Source.Temporal && collection.Source.Include,
    ).toBeTruthy();
  });
});
