import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/cli';

const DIST = join(__dirname, '../../dist/cli');

describe('the bundled command line (dist/cli, built by the tests’ global setup)', () => {
  it('is what the bin runs, from any folder', () => {
    const out = spawnSync(process.execPath, [BIN, 'run', '--help'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('Usage: s3-direct-transfer run');
    expect(out.stderr).not.toContain('tsx');
  });

  it('carries the state machine definition instead of reading it from the source tree', () => {
    const run = readFileSync(join(DIST, 'run.js'), 'utf8');
    expect(run).toMatch(/stagingBucketPlaceholder: "[a-z0-9]+"/);
    expect(run).not.toMatch(/require\([^)]*definition\.json/);
  });
});
