/**
 * The options of `run` as main.ts parses them and hands them to the one-machine runner (mocked here:
 * the option's effect on a run is held by test/local/pipeline-deadline.test.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from '../helpers/main';
import { COPY_TIMEOUT_SECONDS, runPipelineLocally, type LocalRunOptions } from '../../local/pipeline';

jest.mock('../../local/pipeline', () => ({
  ...jest.requireActual('../../local/pipeline'),
  runPipelineLocally: jest.fn(),
}));
const runLocally = runPipelineLocally as jest.MockedFunction<typeof runPipelineLocally>;

const eventPath = join(mkdtempSync(join(tmpdir(), 'cli-run-main-')), 'event.json');
writeFileSync(
  eventPath,
  JSON.stringify({
    CredentialsEndpoint: 'https://archive.podaac.earthdata.nasa.gov/s3credentials',
    BearerToken: 'edl-token-abcdefghijklmnopqrstuvwxyz',
    Source: { Bucket: 'src-bucket', Key: 'a.nc' },
    Dest: { Bucket: 'my-bucket' },
  }),
);

const run = runMain;

const RESULT = { Copied: 1, Skipped: 0, Failed: 0, Bytes: 1, Failures: [] };
beforeEach(() => {
  runLocally.mockReset();
  runLocally.mockImplementation(async () => ({
    execution: { Status: 'SUCCEEDED', Output: RESULT },
    result: RESULT,
    runId: 'run-1',
    staging: { bucket: 'local' } as never,
    progress: { objectsTotal: 1, bytesTotal: 1, objectsDone: 1, bytesDone: 1, failed: 0, skipped: 0 },
    usage: {
      transitions: 9,
      childExecutions: 1,
      invocations: { plan: 1, copy: 1, summarize: 1 },
      lambdaMs: { plan: 1, copy: 1, summarize: 1 },
    },
  }));
});

const optionsOfRun = (): LocalRunOptions => runLocally.mock.calls[0][1] as LocalRunOptions;

describe('run --lambda-timeout', () => {
  it('hands the timeout in seconds to the runner', async () => {
    const { code } = await run('run', '--event', eventPath, '--quiet', '--lambda-timeout', '3');
    expect(code).toBe(0);
    expect(optionsOfRun().lambdaTimeoutSeconds).toBe(3);
  });

  it("leaves the runner's default (the copy Lambda's default timeout) when it is not given", async () => {
    const { code } = await run('run', '--event', eventPath, '--quiet');
    expect(code).toBe(0);
    expect(optionsOfRun().lambdaTimeoutSeconds).toBeUndefined();
  });

  it.each(['0', '901', '1.5', '-3', 'ten', ''])('refuses %j with exit 2 and says why', async (value) => {
    const { code, stderr } = await run('run', '--event', eventPath, '--lambda-timeout', value);
    expect(code).toBe(2);
    expect(stderr).toContain('--lambda-timeout must be a whole number of seconds from 1 to 900');
    expect(runLocally).not.toHaveBeenCalled();
  });

  it('is in run --help, with its default', async () => {
    const { code, stdout } = await run('run', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--lambda-timeout <seconds>');
    expect(stdout.replace(/\s+/g, ' ')).toContain(
      `(default: ${COPY_TIMEOUT_SECONDS}, the copy Lambda’s default timeout)`,
    );
    expect(stdout).toContain('to exercise\nthe deadlines on small data');
  });
});
