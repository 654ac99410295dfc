/**
 * Copy engine benchmark (not a test): this engine against the peers that copy between two sets of
 * credentials by streaming through the client (`aws s3 cp ... - | aws s3 cp - ...`, `aws s3 sync` via a
 * folder, `rclone copyto`/`copy` at its defaults and with as many connections as ours), in one run, in
 * each world of bench/worlds.ts (loopback; like S3 as a large instance sees it; like S3 as a Lambda
 * does). The embedded S3 runs in a process of its own; every measured client is a child process under
 * `/usr/bin/time`. Prints one markdown table per world (docs/PERFORMANCE.md holds the recorded ones).
 *
 *   npx tsx bench/copy-engine.ts [--worlds loopback,instance,lambda] [--reps 3] [--quick] [--no-peers]
 *       [--no-limits] [--no-small] [--no-aws-small] [--no-4g] [--no-sync] [--profile] [--verbose]
 *       [--engine-options JSON] [--node-options FLAGS] [--no-malloc] [--sweep [--variants JSON-list]]
 *
 * Needs Debian's awscli and rclone (`apt-get install -y awscli rclone`) and /usr/bin/time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mallocTuning from '../shared/copy/malloc-tuning.json';
import { COPY_DEFAULTS, type CopyOptions } from '../shared/copy';
import { RUN_DEFAULTS } from '../local/run-defaults';
import { baseEnv, bundleBench, Server, timed as harnessTimed, type Usage } from './harness';
import { awsPipe, awsSync, rclone, rcloneConfig, rcloneEqual, type PeerWorld } from './peers';
import { inRegime, regimesFrom, type Regime } from './worlds';
import {
  defaultVariants,
  describe,
  pool,
  printTable,
  sizeLabel,
  type Measured,
  type Row,
} from './copy-engine-rows';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ROOT = join(__dirname, '..');
const OUT = join(ROOT, '.bench-out');

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const quick = flag('--quick');
const REPS = Number(option('--reps', quick ? '1' : '3'));
const BIG = quick ? 256 * MiB : GiB;
const SMALL_COUNT = quick ? 50 : 200;
const withPeers = !flag('--no-peers');
const withSync = !flag('--no-sync');
const with4g = !flag('--no-4g') && !quick;
const sweep = flag('--sweep');
const withLimits = !flag('--no-limits');
const withSmall = !flag('--no-small');
// 2 Python processes per object: ~5-10 minutes for 200 objects on 2 cores.
const withAwsSmall = !flag('--no-aws-small');
const profile = flag('--profile');
const verbose = flag('--verbose');
const engineOptions = JSON.parse(option('--engine-options', '{}')) as CopyOptions;
/** `--node-options '--max-semi-space-size=1'`: NODE_OPTIONS of every engine run. */
const nodeOptions = option('--node-options', '');

interface World {
  endpoint: string;
  region: string;
  destination: { accessKeyId: string; secretAccessKey: string };
  source: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

interface Candidate {
  tool: string;
  workload: string;
  bytes: number;
  prefix: string;
  run: () => Promise<Measured>;
  reps?: number;
  note?: string;
}

/** The copy Lambda's glibc malloc settings (shared/copy/malloc-tuning.json); `run` users export them too. */
const MALLOC_ENV: Record<string, string> = flag('--no-malloc') ? {} : { ...mallocTuning };

/** The engine's settings per host: the copy Lambda's (COPY_DEFAULTS) and `run`'s (RUN_DEFAULTS). */
const HOSTS = {
  lambda: { label: 'Lambda defaults', options: {} as CopyOptions, batch: 8 },
  run: { label: '`run` defaults', options: RUN_DEFAULTS.copyOptions, batch: RUN_DEFAULTS.objectsPerBatch },
};

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  bundleBench([join(ROOT, 'bench/copy-engine-client.ts'), join(ROOT, 'bench/copy-engine-server.ts')], OUT);
  const dir = mkdtempSync(join(tmpdir(), 'bench-copy-engine-'));
  const seeds = [
    `big/1g=${BIG}`,
    `small/{i}=${MiB}x${SMALL_COUNT}`,
    ...(with4g ? [`big/4g=${4 * GiB}`] : []),
  ];
  console.error(`seeding ${seeds.join(', ')} in ${dir} ...`);
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(OUT, 'copy-engine-server.js'), dir, ...seeds],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const server = new Server(child);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const world = JSON.parse(await server.next()) as World;
  try {
    for (const regime of regimesFrom(args)) {
      console.error(`world: ${regime.label}`);
      const rows = await inRegime(regime, world.endpoint, (endpoint) =>
        measureWorld(server, { ...world, endpoint }, regime),
      );
      // Printed as each world ends: a later failure does not lose it.
      printTable(regime, rows);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every candidate of one world, interleaved rep by rep. */
async function measureWorld(server: Server, world: World, regime: Regime): Promise<Row[]> {
  const rows: Row[] = [];
  const serverCpuS = async (): Promise<number> =>
    (await server.ask<{ cpuMs: number }>('counters')).cpuMs / 1000;
  const measure = async (run: () => Promise<Usage>): Promise<Measured> => {
    const before = await serverCpuS();
    const started = process.hrtime.bigint();
    const { cpuS, rssMiB } = await run();
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    return { wallS, cpuS, rssMiB, serverCpuS: (await serverCpuS()) - before };
  };
  const peerWorld: PeerWorld = { ...world, outDir: OUT };
  const config = rcloneConfig(peerWorld);

  const engine = (job: Record<string, unknown>, env: Record<string, string> = MALLOC_ENV) =>
    measure(async () => {
      const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT, 'prof')}`] : [];
      const command = [
        process.execPath,
        ...prof,
        join(OUT, 'copy-engine-client.js'),
        JSON.stringify({ ...job, world }),
      ];
      const nodeEnv = nodeOptions ? { NODE_OPTIONS: nodeOptions } : {};
      const p = harnessTimed(command, { ...baseEnv, ...env, ...nodeEnv }, ['ignore', 'pipe', 'inherit'], OUT);
      let out = '';
      p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const usage = await p.done;
      if (verbose)
        console.error(`    user ${usage.userS} s, sys ${usage.sysS} s, ${usage.minorFaults} minor faults`);
      const result = JSON.parse(out) as { verified?: { bytes: boolean } };
      if (result.verified && !result.verified.bytes) throw new Error('engine copy not verified');
      return usage;
    });
  const bigLabel = `1 x ${sizeLabel(BIG)}`;
  const object = (
    tool: string,
    options: CopyOptions,
    env?: Record<string, string>,
    key = 'big/1g',
    bytes = BIG,
  ) => ({
    tool: `${tool} (${describe(options)})`,
    workload: `1 x ${sizeLabel(bytes)}`,
    bytes,
    prefix: 'engine/',
    run: () =>
      engine({ mode: 'object', key, destKey: 'engine/big', options: { ...options, ...engineOptions } }, env),
  });
  const hosts =
    regime.name === 'lambda'
      ? [HOSTS.lambda]
      : regime.name === 'instance'
        ? [HOSTS.run]
        : [HOSTS.lambda, HOSTS.run];
  const compare = async (candidates: Candidate[]): Promise<void> => {
    const runs = candidates.map(() => [] as Measured[]);
    const most = Math.max(...candidates.map((c) => c.reps ?? REPS));
    for (let rep = 0; rep < most; rep++) {
      for (let k = 0; k < candidates.length; k++) {
        const i = (k + rep) % candidates.length;
        const c = candidates[i];
        if (runs[i].length >= (c.reps ?? REPS)) continue;
        runs[i].push(await c.run());
        await server.ask(`delete bench-dst ${c.prefix}`);
        console.error(`  ${c.tool}, ${c.workload}: ${runs[i][runs[i].length - 1].wallS.toFixed(2)} s`);
      }
    }
    candidates.forEach(({ run: _run, prefix: _prefix, ...c }, i) => rows.push({ ...c, runs: runs[i] }));
  };

  const big: Candidate[] = [];
  if (withLimits) {
    // Through the proxy, the copy limit is what the world delivers to a client that does nothing but
    // move bytes (one GET stream, parts in flight): on a loaded machine, less than the nominal caps.
    const limits = [
      ['raw-get', 'raw GET (server limit)'],
      ['raw-put', 'raw PUT (server limit)'],
      ['raw-copy', 'raw GET + PUT at once (copy limit)'],
    ].filter(([mode]) => regime.name === 'loopback' || mode === 'raw-copy');
    for (const [mode, tool] of limits) {
      big.push({
        tool,
        workload: bigLabel,
        bytes: BIG,
        prefix: 'raw/',
        run: () => engine({ mode, key: 'big/1g', destKey: 'raw/big', size: BIG }),
      });
    }
  }
  for (const host of hosts) big.push(object(`this engine, ${host.label}`, host.options));
  if (regime.name === 'loopback')
    big.push({ ...object(`this engine, ${HOSTS.lambda.label}, no malloc tuning`, {}, {}) });
  if (withPeers) {
    const equal = hosts[hosts.length - 1].options;
    big.push({
      tool: 'aws s3 cp - pipe',
      workload: bigLabel,
      bytes: BIG,
      prefix: 'aws/',
      run: () => measure(() => awsPipe(peerWorld, 's3://bench-src/big/1g', 's3://bench-dst/aws/big', BIG)),
      note: 'two processes, CPU and RSS summed',
    });
    if (withSync) {
      big.push({
        tool: 'aws s3 sync down + up',
        workload: bigLabel,
        bytes: BIG,
        prefix: 'aws/',
        run: () => measure(() => awsSync(peerWorld, 's3://bench-src/big/', 's3://bench-dst/aws/')),
        note: 'via a local folder; big/ holds only this object here',
      });
    }
    big.push({
      tool: 'rclone copyto (defaults)',
      workload: bigLabel,
      bytes: BIG,
      prefix: 'rclone/',
      run: () =>
        measure(() =>
          rclone(peerWorld, config, ['copyto', 'src:bench-src/big/1g', 'dst:bench-dst/rclone/big']),
        ),
    });
    const uploadConcurrency = equal.queueSize ?? COPY_DEFAULTS.queueSize;
    big.push({
      tool: `rclone copyto, equal connections (${rcloneEqual({ uploadConcurrency }).join(' ')})`,
      workload: bigLabel,
      bytes: BIG,
      prefix: 'rclone/',
      run: () =>
        measure(() =>
          rclone(peerWorld, config, [
            'copyto',
            ...rcloneEqual({ uploadConcurrency }),
            'src:bench-src/big/1g',
            'dst:bench-dst/rclone/big',
          ]),
        ),
    });
  }
  await compare(big);

  if (sweep) {
    const variants = JSON.parse(
      option('--variants', JSON.stringify(defaultVariants(regime))),
    ) as CopyOptions[];
    await compare(variants.map((v) => object('engine', v)));
  }

  if (withSmall) {
    const bytes = MiB * SMALL_COUNT;
    const workload = `${SMALL_COUNT} x 1 MiB`;
    const small: Candidate[] = hosts.map((host) => ({
      tool: `this engine, ${host.label} (copyBatch, ${host.batch} at once)`,
      workload,
      bytes,
      prefix: 'engine/',
      run: () =>
        engine({
          mode: 'batch',
          prefix: 'small/',
          destPrefix: 'engine/small/',
          concurrency: host.batch,
          options: { ...host.options, ...engineOptions },
        }),
    }));
    if (withPeers) {
      const transfers = hosts[hosts.length - 1].batch;
      small.push({
        tool: 'rclone copy (defaults: --transfers 4)',
        workload,
        bytes,
        prefix: 'rclone/',
        run: () =>
          measure(() =>
            rclone(peerWorld, config, ['copy', 'src:bench-src/small', 'dst:bench-dst/rclone/small']),
          ),
      });
      if (transfers !== 4) {
        small.push({
          tool: `rclone copy, equal connections (--transfers ${transfers})`,
          workload,
          bytes,
          prefix: 'rclone/',
          run: () =>
            measure(() =>
              rclone(peerWorld, config, [
                'copy',
                '--transfers',
                String(transfers),
                'src:bench-src/small',
                'dst:bench-dst/rclone/small',
              ]),
            ),
        });
      }
      if (withSync) {
        small.push({
          tool: 'aws s3 sync down + up',
          workload,
          bytes,
          prefix: 'aws/',
          run: () => measure(() => awsSync(peerWorld, 's3://bench-src/small/', 's3://bench-dst/aws/small/')),
        });
      }
      if (withAwsSmall && regime.name === 'loopback') {
        const keys = Array.from({ length: SMALL_COUNT }, (_, i) => `small/${String(i).padStart(4, '0')}`);
        small.push({
          tool: 'aws s3 cp - pipe, 4 at once',
          workload,
          bytes,
          prefix: 'aws/',
          reps: 1,
          run: () =>
            measure(() =>
              pool(keys, 4, (k) => awsPipe(peerWorld, `s3://bench-src/${k}`, `s3://bench-dst/aws/${k}`, MiB)),
            ),
          note: '1 run (2 processes per object); RSS: largest pair',
        });
      }
    }
    await compare(small);
  }

  if (with4g && regime.name === 'loopback') {
    await compare(
      hosts.map((host) => ({
        ...object(`this engine, ${host.label}`, host.options, MALLOC_ENV, 'big/4g', 4 * GiB),
        reps: 1,
      })),
    );
  }
  return rows;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
