/**
 * Start-up and fixed cost of the command line (not a test): `--help`, `run --help`, and a `run` that
 * copies one 16 KiB object in the embedded world (S3 + TEA emulator in a process of their own), for
 * each bin given, interleaved; wall time, CPU and peak RSS under /usr/bin/time, medians and all runs.
 *
 *   npx tsx bench/run-overhead.ts [--reps 10] [--bin NAME=PATH ...] [--node-flag NAME=FLAGS ...]
 *       [--large-mib 1024]
 *
 * `--large-mib N` adds a `run` copying one object of N MiB (where a copy's peak RSS comes from).
 * `--node-flag NAME=FLAGS` runs bin NAME under `node FLAGS` (e.g. `--max-semi-space-size=1`); the same
 * bin path may be given twice under two names.
 *
 * Default: this tree's bin (the bundle). `--bin before=/tmp/old/bin/s3-direct-transfer.js` compares a
 * checkout of another version (e.g. `git archive <rev> | tar -x -C /tmp/old`, node_modules linked).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, bundleBench, Server, timed } from './harness';
import { median } from './pipeline-measure';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, '.bench-out', 'run-overhead');
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
const REPS = option('--reps', 10);
const pairs = (name: string): [string, string][] =>
  args.flatMap((a, i) => {
    if (a !== name) return [];
    const at = args[i + 1].indexOf('=');
    return [[args[i + 1].slice(0, at), args[i + 1].slice(at + 1)] as [string, string]];
  });
const bins = pairs('--bin');
if (!bins.length) bins.push(['this tree', join(ROOT, 'bin/s3-direct-transfer.js')]);
const nodeFlags = new Map(pairs('--node-flag'));
const LARGE_MIB = option('--large-mib', 0);

interface World {
  endpoint: string;
  credentialsEndpoint: string;
  token: string;
  processEnv: Record<string, string>;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  bundleBench([join(ROOT, 'bench/pipeline-server.ts')], OUT);
  const temp = mkdtempSync(join(tmpdir(), 'bench-run-overhead-'));
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      join(OUT, 'pipeline-server.js'),
      'granules/',
      '1',
      '16384',
      LARGE_MIB ? '1' : '0',
      String(LARGE_MIB * 1024 * 1024),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const server = new Server(child);
  const world = JSON.parse(await server.next()) as World;
  const event = join(temp, 'event.json');
  let run = 0;
  const env = {
    ...baseEnv,
    ...world.processEnv,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const runEvent = (prefix: string) => (bin: string) => {
    writeFileSync(
      event,
      JSON.stringify({
        CredentialsEndpoint: world.credentialsEndpoint,
        BearerToken: world.token,
        Source: { Bucket: 'bench-src', Prefix: prefix },
        Dest: { Bucket: 'bench-dst', Prefix: `run-${run++}/` },
      }),
    );
    return [bin, 'run', '--event', event, '--quiet'];
  };
  const cases: [string, (bin: string) => string[]][] = [
    ['--help', (bin) => [bin, '--help']],
    ['run --help', (bin) => [bin, 'run', '--help']],
    ['run, 1 object of 16 KiB', runEvent('one-granules/')],
    ...(LARGE_MIB
      ? [
          [`run, 1 object of ${LARGE_MIB} MiB`, runEvent('large-granules/')] as [
            string,
            (bin: string) => string[],
          ],
        ]
      : []),
  ];
  const results = new Map<string, { wallS: number; cpuS: number; rssMiB: number }[]>();
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const [name, bin] of rep % 2 ? [...bins].reverse() : bins) {
        for (const [label, command] of cases) {
          const flags = nodeFlags.get(name)?.split(' ') ?? [];
          const started = process.hrtime.bigint();
          const p = timed(
            [process.execPath, ...flags, ...command(bin)],
            env,
            ['ignore', 'ignore', 'pipe'],
            OUT,
          );
          const usage = await p.done;
          await server.ask(`delete bench-dst run-`);
          const wallS = Number(process.hrtime.bigint() - started) / 1e9;
          const key = `${name}\t${label}`;
          results.set(key, [...(results.get(key) ?? []), { wallS, cpuS: usage.cpuS, rssMiB: usage.rssMiB }]);
        }
      }
    }
  } finally {
    await server.stop();
    rmSync(temp, { recursive: true, force: true });
  }
  console.log(`${REPS} reps interleaved; medians (all wall times in s).\n`);
  console.log('| bin | command | wall s, median (runs) | CPU s | peak RSS MiB |');
  console.log('|---|---|---|---|---|');
  for (const [key, runs] of results) {
    const [name, label] = key.split('\t');
    console.log(
      `| ${name} | ${label} | ${median(runs.map((r) => r.wallS)).toFixed(3)} (${runs.map((r) => r.wallS.toFixed(2)).join(' ')}) | ` +
        `${median(runs.map((r) => r.cpuS)).toFixed(2)} | ${median(runs.map((r) => r.rssMiB)).toFixed(0)} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
