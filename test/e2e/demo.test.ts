/**
 * `s3-direct-transfer demo` (what `npm start` runs), as a user runs it: the embedded world, the sample,
 * the synthesized state machine, the sha256 check of every copy, and an explanation that tells the
 * truth about the credential refreshes.
 */
import { runCli } from '../helpers/cli';
import { describeOn } from './world';

jest.setTimeout(150_000);

describeOn(['embedded'], 'the demo is defined on the embedded world')('demo', () => {
  it('copies and verifies the whole sample, refreshing short-lived credentials as it goes', async () => {
    const result = await runCli(['demo', '--quiet', '--credential-lifetime', '1'], {}, 140_000);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { Copied: number; Failed: number; Total?: number };
    expect(summary).toMatchObject({ Copied: 300, Failed: 0 });
    expect(result.stderr).toContain('Verified: all 300 destination objects match their source');
    const calls = Number(/credentials endpoint was called (\d+) times/.exec(result.stderr)?.[1]);
    const refreshes = Number(/Credential refreshes: (\d+),/.exec(result.stderr)?.[1]);
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(calls).toBe(refreshes + 1);
    // One call per object would be 300: the refreshes follow the clock, not the objects.
    expect(calls).toBeLessThan(50);
    // The collection example: 3 days of 3-hour granules (24, 25 with the one touching the end), 2 files each.
    expect(result.stderr).toMatch(/read 25 matching granules over 3 CMR pages/);
    expect(result.stderr).toMatch(
      /Copied 50, failed 0; each file checked while it streamed: (25 sha256-published, 25 md5-published|25 md5-published, 25 sha256-published)/,
    );
  });
});
