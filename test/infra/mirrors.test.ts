import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { configFromContext } from '../../infra/config';
import {
  parseMirrorsFile,
  readMirrorsFile,
  scheduleProblem,
  timeZoneProblem,
  validateMirrors,
  type MirrorSpec,
} from '../../infra/mirrors/mirrors-file';
import { STACK_NAME, TransferStack } from '../../infra/stack';
import { TransferPipeline } from '../../infra/transfer-pipeline';

const PATH = '/s3-direct-transfer/';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-looking-token';

const event = {
  CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
  BearerTokenParameter: '/s3-direct-transfer/edl-token',
  Source: { Bucket: 'podaac-ops-cumulus-protected', Prefix: 'MUR-JPL-L4-GLOB-v4.1/' },
  Dest: { Bucket: 'my-science-bucket', Prefix: 'mur/' },
};
const mirror = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'podaac-mur',
  schedule: 'rate(1 day)',
  event,
  ...extra,
});
const problems = (specs: unknown[], path = PATH): string => {
  try {
    validateMirrors(specs, path);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the mirrors to be rejected');
};

const dir = mkdtempSync(join(tmpdir(), 'mirrors-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const writeMirrors = (name: string, content: unknown): string => {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

describe('validateMirrors', () => {
  it('applies the defaults: enabled, a 15-minute window, Options.Sync true (other options kept)', () => {
    const [m] = validateMirrors([mirror({ event: { ...event, Options: { DryRun: true } } })], PATH);
    expect(m).toEqual({
      name: 'podaac-mur',
      schedule: 'rate(1 day)',
      enabled: true,
      flexibleWindowMinutes: 15,
      event: { ...event, Options: { DryRun: true, Sync: true } },
    });
  });

  it('respects an explicit Sync false, enabled false, a window of 0, a time zone and a description', () => {
    const spec = mirror({
      schedule: 'cron(0 6 * * ? *)',
      timezone: 'America/New_York',
      enabled: false,
      description: 'nightly',
      flexibleWindowMinutes: 0,
      event: { ...event, Options: { Sync: false } },
    });
    const [m] = validateMirrors([spec], PATH);
    expect(m).toEqual({ ...spec, event: { ...event, Options: { Sync: false } } });
  });

  it('returns a validated list unchanged', () => {
    const once = validateMirrors(
      [mirror(), mirror({ name: 'other', schedule: 'at(2030-01-31T06:00:00)' })],
      PATH,
    );
    expect(validateMirrors(once, PATH)).toEqual(once);
  });

  it('refuses a bad event field, naming the mirror, the error and the field', () => {
    const message = problems([
      mirror({ event: { ...event, Source: { Bucket: 'Bad_Bucket', Prefix: 'x/' } } }),
    ]);
    expect(message).toMatch(
      /^mirrors: mirror "podaac-mur": InvalidInput: invalid event: Source\.Bucket: expected/,
    );
    expect(message).not.toContain('Bad_Bucket');
  });

  it('refuses an inline token, saying why, without quoting it', () => {
    for (const field of ['BearerToken', 'JwtCookie']) {
      const { BearerTokenParameter: _parameter, ...rest } = event;
      const message = problems([mirror({ event: { ...rest, [field]: TOKEN } })]);
      expect(message).toMatch(
        new RegExp(`^mirrors: mirror "podaac-mur": event\\.${field}: a mirror may not hold a token inline`),
      );
      expect(message).toMatch(/readable by anyone who may read the schedule/);
      expect(message).toMatch(/BearerTokenParameter/);
      expect(message).not.toContain(TOKEN);
    }
  });

  it('refuses a token parameter outside the token path, naming both', () => {
    const message = problems([mirror({ event: { ...event, BearerTokenParameter: '/earthdata/token' } })]);
    expect(message).toBe(
      'mirrors: mirror "podaac-mur": event.BearerTokenParameter: "/earthdata/token" is not under ' +
        "/s3-direct-transfer/, the only path the pipeline's Plan role may read token parameters from: store " +
        'the token as /s3-direct-transfer/<name>, or deploy with -c tokenParameterPath=<its path>',
    );
    expect(() => validateMirrors([mirror()], '/team/tokens/')).toThrow(/is not under \/team\/tokens\//);
  });

  it('refuses a destination the pipeline may not write, when that is certain', () => {
    const check = (
      destinations: { bucketName: string; prefix?: string }[],
      dest: Record<string, unknown>,
    ) => {
      try {
        validateMirrors([mirror({ event: { ...event, Dest: dest } })], PATH, { destinations });
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
    const bucket = { bucketName: 'my-science-bucket' };
    const earthdata = { bucketName: 'my-science-bucket', prefix: 'earthdata/' };
    expect(check([bucket], { Bucket: 'my-science-bucket', Prefix: 'mur/' })).toBeUndefined();
    expect(check([earthdata], { Bucket: 'my-science-bucket', Prefix: 'earthdata/mur/' })).toBeUndefined();
    // Without Dest.Prefix the keys are the source keys, which may fall under the allowed prefix.
    expect(check([earthdata], { Bucket: 'my-science-bucket' })).toBeUndefined();
    expect(check([{ bucketName: 'other-bucket' }, earthdata], { Bucket: 'elsewhere' })).toBe(
      'mirrors: mirror "podaac-mur": event.Dest.Bucket: the pipeline may not write there (its ' +
        'destinationBuckets: other-bucket, my-science-bucket/earthdata/), so every object would fail with ' +
        'DestinationAccessDenied: add the bucket (and prefix) to destinationBuckets',
    );
    expect(check([earthdata], { Bucket: 'my-science-bucket', Prefix: 'mur/' })).toMatch(
      /mirror "podaac-mur": event\.Dest\.Prefix: the pipeline may not write there/,
    );
    expect(check([], { Bucket: 'my-science-bucket' })).toMatch(/its destinationBuckets: none/);
  });

  describe('deletions', () => {
    const deleting = (options: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      mirror({ event: { ...event, ...extra, Options: options } });
    const refusal = (spec: Record<string, unknown>, allowMirrorDeletes = true): string => {
      try {
        validateMirrors([spec], PATH, { allowMirrorDeletes });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected the mirror to be refused');
    };

    it('accepts Delete and MaxDeletes when the stack opts in, with the mirror default Sync true', () => {
      const [m] = validateMirrors([deleting({ Delete: true, MaxDeletes: 25 })], PATH, {
        allowMirrorDeletes: true,
      });
      expect(m.event.Options).toEqual({ Delete: true, MaxDeletes: 25, Sync: true });
      expect(validateMirrors([m], PATH, { allowMirrorDeletes: true })).toEqual([m]);
      // Delete false and MaxDeletes alone need no consent: they delete nothing.
      expect(validateMirrors([deleting({ Delete: false, MaxDeletes: 5 })], PATH)).toHaveLength(1);
    });

    it('refuses a mirror that deletes unless the stack opts in with allowMirrorDeletes', () => {
      const spec = deleting({ Delete: true });
      expect(refusal(spec, false)).toBe(
        'mirrors: mirror "podaac-mur": event.Options.Delete: this deployment does not let mirrors delete: ' +
          'deploy with -c allowMirrorDeletes=true, which gives the copy role s3:DeleteObject on the ' +
          'destination buckets (Options.MaxDeletes still caps each run)',
      );
      expect(() => validateMirrors([spec], PATH)).toThrow(/allowMirrorDeletes/);
    });

    it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
      [
        'Delete with Sync false',
        { Sync: false, Delete: true },
        {},
        /event: Options\.Delete: only allowed with Options\.Sync true/,
      ],
      [
        'Delete with a Keys source',
        { Delete: true },
        { Source: { Bucket: 'podaac-ops-cumulus-protected', Keys: ['a.nc'] } },
        /Options\.Delete: only allowed with a prefix-type source \(Source\.Prefix\), not with Source\.Keys/,
      ],
      [
        'Delete with a Key source',
        { Delete: true },
        { Source: { Bucket: 'podaac-ops-cumulus-protected', Key: 'a.nc' } },
        /Options\.Delete: only allowed with a prefix-type source/,
      ],
      [
        'a negative MaxDeletes',
        { Delete: true, MaxDeletes: -3 },
        {},
        /Options\.MaxDeletes: expected a whole number/,
      ],
      [
        'a MaxDeletes of 1.5',
        { Delete: true, MaxDeletes: 1.5 },
        {},
        /Options\.MaxDeletes: expected a whole number/,
      ],
      ['Delete as a string', { Delete: 'true' }, {}, /Options\.Delete: expected true or false/],
    ])('refuses %s at synth, with the event rules', (_name, options, extra, expected) => {
      const message = refusal(deleting(options, extra));
      expect(message).toMatch(/^mirrors: mirror "podaac-mur": InvalidInput: invalid event: /);
      expect(message).toMatch(expected);
    });
  });

  it('checks the mirror fields, naming each', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'has space' }, /^mirrors: mirrors\[0\]: name: expected 1-64 characters/],
      [{ name: 'x'.repeat(65) }, /^mirrors: mirrors\[0\]: name: expected 1-64 characters/],
      [{ name: 42 }, /^mirrors: mirrors\[0\]: name: expected a mirror name/],
      [{ schedule: 'every day' }, /^mirrors: mirror "podaac-mur": schedule: expected rate\(value unit\)/],
      [{ schedule: 'rate(1 days)' }, /schedule: .*singular for 1 and plural otherwise/],
      [{ schedule: 'rate(2 hour)' }, /schedule: .*singular for 1 and plural otherwise/],
      [{ schedule: 'rate(0 minutes)' }, /schedule: .*at least 1/],
      [{ schedule: 'cron(0 6 * * *)' }, /schedule: .*6 fields, this one has 5/],
      [
        { schedule: 'cron(0 6 * * * *)' },
        /schedule: .*exactly one of day-of-month and day-of-week must be \?/,
      ],
      [{ schedule: 'cron(0 6 ? * ? *)' }, /schedule: .*exactly one of day-of-month and day-of-week/],
      [{ schedule: 'cron(0 6 * * ? $)' }, /schedule: .*the year field/],
      [{ schedule: 'at(2030-02-30T06:00:00)' }, /schedule: .*not a valid date and time/],
      [{ timezone: 'Mars/Olympus_Mons' }, /timezone: expected an IANA time zone name/],
      [{ timezone: 'utc' }, /timezone: expected an IANA time zone name .*\(did you mean UTC\?\)/],
      [{ enabled: 'yes' }, /enabled: expected true or false/],
      [
        { flexibleWindowMinutes: 1441 },
        /flexibleWindowMinutes: expected a whole number of minutes from 0 to 1440/,
      ],
      [{ flexibleWindowMinutes: 2.5 }, /flexibleWindowMinutes: expected a whole number/],
      [{ event: undefined }, /event: required: expected the transfer event/],
      [{ event: 'x' }, /event: expected the transfer event \(an object\)/],
      [{ Schedule: 'rate(1 day)' }, /Schedule: unknown field \(a mirror has name, schedule, timezone/],
    ];
    for (const [extra, expected] of cases) expect(problems([mirror(extra)])).toMatch(expected);
    expect(problems(['x'])).toMatch(
      /^mirrors: mirrors\[0\]: expected an object with name, schedule and event/,
    );
  });

  it('reports every problem of every mirror, one per line, and duplicate names', () => {
    const message = problems([
      mirror(),
      mirror({ name: 'PODAAC-MUR' }),
      mirror({ name: 'b', schedule: 'hourly', timezone: 'Nowhere/Town' }),
    ]);
    expect(message.split('\n')).toEqual([
      'mirrors: mirror "PODAAC-MUR": name: used by mirrors[0] already (names are compared ignoring case)',
      expect.stringMatching(/^mirrors: mirror "b": schedule: expected rate/),
      expect.stringMatching(/^mirrors: mirror "b": timezone: expected an IANA time zone name/),
    ]);
  });

  it('accepts the expression forms EventBridge Scheduler documents', () => {
    for (const expression of [
      'rate(1 minute)',
      'rate(5 minutes)',
      'rate(1 hour)',
      'rate(12 hours)',
      'rate(7 days)',
      'cron(0 6 * * ? *)',
      'cron(15 10 ? * 6L 2030-2035)',
      'cron(0/5 8-17 ? * MON-FRI *)',
      'cron(0 12 1W * ? *)',
      'cron(0 0 ? * 2#1 *)',
      'at(2030-01-31T06:00:00)',
    ]) {
      expect({ expression, problem: scheduleProblem(expression) }).toEqual({
        expression,
        problem: undefined,
      });
    }
    for (const zone of [
      'UTC',
      'Etc/UTC',
      'America/Argentina/Buenos_Aires',
      'Etc/GMT+5',
      'America/Port-au-Prince',
    ]) {
      expect({ zone, problem: timeZoneProblem(zone) }).toEqual({ zone, problem: undefined });
    }
  });
});

describe('mirrors file', () => {
  it('is { "mirrors": [...] }', () => {
    const file = writeMirrors('ok.json', { mirrors: [mirror()] });
    expect(readMirrorsFile(file, PATH).map((m) => m.name)).toEqual(['podaac-mur']);
    expect(() => parseMirrorsFile('[]', PATH, { source: 'f' })).toThrow(
      'f: expected an object { "mirrors": [ ... ] }',
    );
    expect(() => parseMirrorsFile('{"mirrors":[],"defaults":{}}', PATH, { source: 'f' })).toThrow(
      'f: defaults: unknown field (the file has only "mirrors")',
    );
  });

  it('that is not JSON fails without quoting its text', () => {
    const file = writeMirrors('broken.json', `{"mirrors": [{"event": {"BearerToken": ${TOKEN}}}]}`);
    expect(() => readMirrorsFile(file, PATH)).toThrow(`mirrorsFile ${file}: not valid JSON`);
    try {
      readMirrorsFile(file, PATH);
    } catch (error) {
      expect((error as Error).message).not.toContain('eyJ');
    }
  });

  it('that cannot be read fails with its path', () => {
    expect(() => readMirrorsFile(join(dir, 'missing.json'), PATH)).toThrow(
      `mirrorsFile ${join(dir, 'missing.json')}: cannot read it (ENOENT)`,
    );
  });
});

describe('a bad mirror fails the synthesis', () => {
  /** What infra/app.ts does, with `-c mirrorsFile=<file> -c destinationBuckets=my-science-bucket`. */
  const synthesizeApp = (file: string) => () => {
    const app = new App({
      outdir: dir,
      context: { [BUNDLING_STACKS]: [], mirrorsFile: file, destinationBuckets: 'my-science-bucket' },
    });
    new TransferStack(app, STACK_NAME, { config: configFromContext((key) => app.node.tryGetContext(key)) });
    app.synth();
  };

  it('a bad event field, naming the file, the mirror and the field', () => {
    const file = writeMirrors('bad-event.json', {
      mirrors: [mirror({ event: { ...event, Source: { Bucket: 'podaac-ops-cumulus-protected' } } })],
    });
    expect(synthesizeApp(file)).toThrow(
      new RegExp(
        `^mirrorsFile ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: mirror "podaac-mur": InvalidInput: invalid event: Source: expected exactly one of Key`,
      ),
    );
  });

  it('an inline token', () => {
    const { BearerTokenParameter: _parameter, ...rest } = event;
    const file = writeMirrors('inline.json', {
      mirrors: [mirror({ event: { ...rest, BearerToken: TOKEN } })],
    });
    expect(synthesizeApp(file)).toThrow(
      /mirror "podaac-mur": event\.BearerToken: a mirror may not hold a token inline/,
    );
  });

  it("a token parameter outside the stack's tokenParameterPath", () => {
    const file = writeMirrors('outside.json', {
      mirrors: [mirror({ event: { ...event, BearerTokenParameter: '/other/edl-token' } })],
    });
    expect(synthesizeApp(file)).toThrow(
      /mirror "podaac-mur": event\.BearerTokenParameter: "\/other\/edl-token" is not under \/s3-direct-transfer\//,
    );
  });

  it('a destination bucket the pipeline may not write', () => {
    const file = writeMirrors('elsewhere.json', {
      mirrors: [mirror({ event: { ...event, Dest: { Bucket: 'not-configured' } } })],
    });
    expect(synthesizeApp(file)).toThrow(
      /mirror "podaac-mur": event\.Dest\.Bucket: the pipeline may not write there \(its destinationBuckets: my-science-bucket\)/,
    );
  });

  it('given to the construct directly, against its own token path', () => {
    const app = new App({ outdir: dir, context: { [BUNDLING_STACKS]: [] } });
    const stack = new Stack(app, 'SomeoneElsesStack');
    const mirrors: MirrorSpec[] = [mirror() as unknown as MirrorSpec];
    expect(
      () =>
        new TransferPipeline(stack, 'Pipeline', {
          destinationBuckets: ['my-science-bucket'],
          tokenParameterPath: '/team/tokens/',
          mirrors,
        }),
    ).toThrow(/^mirrors: mirror "podaac-mur": event\.BearerTokenParameter: .* is not under \/team\/tokens\//);
  });
});
