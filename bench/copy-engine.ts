/**
 * Copy engine benchmark (not a test): this engine against the peers that copy between two sets of
 * credentials by streaming through the client (`aws s3 cp ... - | aws s3 cp - ...`, `rclone copy`),
 * in the embedded world, in one run. The embedded S3 runs in a process of its own; every measured
 * client runs as a child process under `/usr/bin/time`, so CPU seconds and peak RSS are measured the
 * same way for all of them. Prints a markdown table (docs/PERFORMANCE.md holds the recorded one).
 *
 *   npx tsx bench/copy-engine.ts [--reps 3] [--sweep] [--quick] [--no-peers] [--no-limits] [--no-small]
 *                                [--no-aws-small] [--no-4g] [--profile] [--engine-options JSON]
 *
 * Needs Debian's awscli and rclone (`apt-get install -y awscli rclone`) and /usr/bin/time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, Server, timed as harnessTimed } from './harness';
import mallocTuning from '../shared/copy/malloc-tuning.json';
import { buildSync } from 'esbuild';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ROOT = join(__dirname, '..');
const OUT = join(ROOT, '.bench-out');

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = flag('--quick');
const REPS = option('--reps', quick ? 1 : 3);
const BIG = quick ? 256 * MiB : GiB;
const HUGE = 4 * GiB;
const SMALL_COUNT = quick ? 50 : 200;
const SMALL = MiB;
const withPeers = !flag('--no-peers');
const with4g = !flag('--no-4g') && !quick;
const sweep = flag('--sweep');
const withLimits = !flag('--no-limits');
const withSmall = !flag('--no-small');
// 2 Python processes per object: ~5-10 minutes for 200 objects on 2 cores.
const withAwsSmall = !flag('--no-aws-small');
const profile = flag('--profile');
/** Prints user/sys CPU and minor page faults of every measured process. */
const verbose = flag('--verbose');
const engineOptionsIndex = args.indexOf('--engine-options');
const engineOptions =
  engineOptionsIndex >= 0 ? (JSON.parse(args[engineOptionsIndex + 1]) as Record<string, unknown>) : {};

interface World {
  endpoint: string;
  region: string;
  admin: { accessKeyId: string; secretAccessKey: string };
  destination: { accessKeyId: string; secretAccessKey: string };
  source: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

interface Measured {
  wallS: number;
  cpuS: number;
  rssMiB: number;
  serverCpuS: number;
}

/** {@link harnessTimed} with this benchmark's output folder; `--verbose` prints user/sys CPU and faults. */
function timed(command: string[], env: NodeJS.ProcessEnv, stdio: ('pipe' | 'inherit' | 'ignore')[]) {
  const p = harnessTimed(command, env, stdio, OUT);
  const done = p.done.then((usage) => {
    if (verbose) {
      console.error(
        `    ${command[0]}: user ${usage.userS} s, sys ${usage.sysS} s, ${usage.minorFaults} minor faults`,
      );
    }
    return usage;
  });
  return { child: p.child, done };
}

function engineJob(job: Record<string, unknown>, world: World): string[] {
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT, 'prof')}`] : [];
  return [process.execPath, ...prof, join(OUT, 'copy-engine-client.js'), JSON.stringify({ ...job, world })];
}

/** CPU seconds the world process has used so far. */
async function serverCpuS(server: Server): Promise<number> {
  return (await server.ask<{ cpuMs: number }>('counters')).cpuMs / 1000;
}

async function measure(
  server: Server,
  run: () => Promise<{ cpuS: number; rssMiB: number }>,
): Promise<Measured> {
  const serverBefore = await serverCpuS(server);
  const started = process.hrtime.bigint();
  const { cpuS, rssMiB } = await run();
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  return { wallS, cpuS, rssMiB, serverCpuS: (await serverCpuS(server)) - serverBefore };
}

/**
 * The copy Lambda's and the command line's glibc malloc settings (shared/copy/malloc-tuning.json):
 * 8 MiB part buffers come from the heap and are reused instead of being mmap'ed and page-faulted afresh,
 * and freed memory stays for the next part. The "no malloc tuning" rows show what they save.
 */
const MALLOC_ENV: Record<string, string> = { ...mallocTuning };

async function runEngine(
  server: Server,
  world: World,
  job: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<Measured> {
  return measure(server, async () => {
    const p = timed(engineJob(job, world), { ...baseEnv, ...env }, ['ignore', 'pipe', 'inherit']);
    let out = '';
    p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const usage = await p.done;
    const result = JSON.parse(out) as { verified?: { bytes: boolean } };
    if (result.verified && !result.verified.bytes) throw new Error('engine copy not verified');
    return usage;
  });
}

function awsEnv(world: World, side: 'source' | 'destination'): NodeJS.ProcessEnv {
  const c = side === 'source' ? world.source : world.destination;
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    AWS_DEFAULT_REGION: world.region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  if (side === 'source') env.AWS_SESSION_TOKEN = world.source.sessionToken;
  return env;
}

/** `aws s3 cp s3://src/k - | aws s3 cp - s3://dst/k`, each side with its own keys. */
function awsPipe(
  world: World,
  key: string,
  destKey: string,
  size: number,
): Promise<{ cpuS: number; rssMiB: number }> {
  const common = ['--endpoint-url', world.endpoint, '--no-progress', '--only-show-errors'];
  const get = timed(
    ['/usr/bin/aws', 's3', 'cp', `s3://bench-src/${key}`, '-', ...common],
    awsEnv(world, 'source'),
    ['ignore', 'pipe', 'inherit'],
  );
  const put = timed(
    [
      '/usr/bin/aws',
      's3',
      'cp',
      '-',
      `s3://bench-dst/${destKey}`,
      '--expected-size',
      String(size),
      ...common,
    ],
    awsEnv(world, 'destination'),
    ['pipe', 'ignore', 'inherit'],
  );
  get.child.stdout!.pipe(put.child.stdin!);
  return Promise.all([get.done, put.done]).then(([a, b]) => ({
    cpuS: a.cpuS + b.cpuS,
    rssMiB: a.rssMiB + b.rssMiB,
  }));
}

function rcloneEnv(world: World, configFile: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv,
    RCLONE_CONFIG: configFile,
    RCLONE_CONFIG_SRC_TYPE: 's3',
    RCLONE_CONFIG_SRC_PROVIDER: 'Other',
    RCLONE_CONFIG_SRC_ACCESS_KEY_ID: world.source.accessKeyId,
    RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY: world.source.secretAccessKey,
    RCLONE_CONFIG_SRC_SESSION_TOKEN: world.source.sessionToken,
    RCLONE_CONFIG_SRC_ENDPOINT: world.endpoint,
    RCLONE_CONFIG_SRC_REGION: world.region,
    RCLONE_CONFIG_SRC_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_DST_TYPE: 's3',
    RCLONE_CONFIG_DST_PROVIDER: 'Other',
    RCLONE_CONFIG_DST_ACCESS_KEY_ID: world.destination.accessKeyId,
    RCLONE_CONFIG_DST_SECRET_ACCESS_KEY: world.destination.secretAccessKey,
    RCLONE_CONFIG_DST_ENDPOINT: world.endpoint,
    RCLONE_CONFIG_DST_REGION: world.region,
    RCLONE_CONFIG_DST_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_DST_NO_CHECK_BUCKET: 'true',
  };
}

async function pool<T>(
  items: T[],
  width: number,
  fn: (item: T) => Promise<{ cpuS: number; rssMiB: number }>,
): Promise<{
  cpuS: number;
  rssMiB: number;
}> {
  let next = 0;
  let cpuS = 0;
  let rssMiB = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const r = await fn(items[next++]);
        cpuS += r.cpuS;
        rssMiB = Math.max(rssMiB, r.rssMiB);
      }
    }),
  );
  return { cpuS, rssMiB };
}

interface Row {
  tool: string;
  workload: string;
  bytes: number;
  runs: Measured[];
  note?: string;
}

function row(r: Row): string {
  // The median run by wall time stands for the row.
  const m = [...r.runs].sort((a, b) => a.wallS - b.wallS)[Math.floor(r.runs.length / 2)];
  const gib = r.bytes / GiB;
  const mibps = r.bytes / MiB / m.wallS;
  const walls = r.runs.map((x) => x.wallS.toFixed(1)).join(' / ');
  return (
    `| ${r.tool} | ${r.workload} | ${m.wallS.toFixed(2)} (${walls}) | ${mibps.toFixed(0)} | ` +
    `${(m.cpuS / gib).toFixed(2)} | ${m.rssMiB.toFixed(0)} | ${(m.serverCpuS / gib).toFixed(2)} |${r.note ? ` ${r.note}` : ''}`
  );
}

async function main(): Promise<void> {
  buildSync({
    entryPoints: [join(ROOT, 'bench/copy-engine-client.ts'), join(ROOT, 'bench/copy-engine-server.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: OUT,
    logLevel: 'warning',
  });
  const dir = mkdtempSync(join(tmpdir(), 'bench-copy-engine-'));
  const rcloneConfig = join(OUT, 'rclone-empty.conf');
  writeFileSync(rcloneConfig, '');
  const seeds = [`big/1g=${BIG}`, `small/{i}=${SMALL}x${SMALL_COUNT}`, ...(with4g ? [`big/4g=${HUGE}`] : [])];
  console.error(`seeding ${seeds.join(', ')} in ${dir} ...`);
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(OUT, 'copy-engine-server.js'), dir, ...seeds],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const server = new Server(child);
  // Interrupted (Ctrl-C, timeout): still stop the server and remove its data.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const world = JSON.parse(await server.next()) as World;
  /** One measured rclone run between the two remotes of {@link rcloneEnv}. */
  const rclone = (...args: string[]): Promise<Measured> =>
    measure(
      server,
      () =>
        timed(['/usr/bin/rclone', ...args], rcloneEnv(world, rcloneConfig), ['ignore', 'ignore', 'inherit'])
          .done,
    );
  const rows: Row[] = [];
  const clean = (prefix: string) => () => server.ask(`delete bench-dst ${prefix}`);

  interface Candidate {
    tool: string;
    workload: string;
    bytes: number;
    run: () => Promise<Measured>;
    prefix: string;
    reps?: number;
    note?: string;
  }
  /**
   * Runs the candidates interleaved, rep by rep, the order rotated each rep, so that a load on the
   * machine (other work on these 2 cores) hits them alike; each run's output is deleted after it.
   */
  const compare = async (candidates: Candidate[]): Promise<void> => {
    const runs = candidates.map(() => [] as Measured[]);
    const most = Math.max(...candidates.map((c) => c.reps ?? REPS));
    for (let rep = 0; rep < most; rep++) {
      for (let k = 0; k < candidates.length; k++) {
        const i = (k + rep) % candidates.length;
        const c = candidates[i];
        if (runs[i].length >= (c.reps ?? REPS)) continue;
        runs[i].push(await c.run());
        await clean(c.prefix)();
        console.error(`  ${c.tool}, ${c.workload}: ${runs[i][runs[i].length - 1].wallS.toFixed(2)} s`);
      }
    }
    candidates.forEach((c, i) =>
      rows.push({ tool: c.tool, workload: c.workload, bytes: c.bytes, runs: runs[i], note: c.note }),
    );
  };
  const engine = (
    tool: string,
    key: string,
    bytes: number,
    options: Record<string, unknown>,
    reps?: number,
    env: Record<string, string> = MALLOC_ENV,
  ): Candidate => ({
    tool,
    workload: `1 x ${bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / MiB} MiB`}`,
    bytes,
    prefix: 'engine/',
    reps,
    run: () => runEngine(server, world, { mode: 'object', key, destKey: 'engine/big', options }, env),
  });
  const bigLabel = `1 x ${BIG >= GiB ? `${BIG / GiB} GiB` : `${BIG / MiB} MiB`}`;

  try {
    const big: Candidate[] = [];
    if (withLimits) {
      // The server's own limits: a client that hashes nothing.
      for (const [mode, tool] of [
        ['raw-get', 'raw GET (server limit)'],
        ['raw-put', 'raw PUT (server limit)'],
        ['raw-copy', 'raw GET + PUT at once (copy limit)'],
      ]) {
        big.push({
          tool,
          workload: bigLabel,
          bytes: BIG,
          prefix: 'raw/',
          run: () => runEngine(server, world, { mode, key: 'big/1g', destKey: 'raw/big', size: BIG }),
        });
      }
    }
    big.push(engine('this engine (defaults, malloc tuning)', 'big/1g', BIG, engineOptions));
    big.push(engine('this engine (defaults, no malloc tuning)', 'big/1g', BIG, engineOptions, undefined, {}));
    // Over HTTPS (AWS), parts go UNSIGNED-PAYLOAD by default; this world is plain HTTP, where they are
    // signed unless asked: this row is what the engine costs against AWS, TLS aside.
    big.push(
      engine('this engine (parts unsigned, as over HTTPS; malloc tuning)', 'big/1g', BIG, {
        ...engineOptions,
        unsignedPayload: 'always',
      }),
    );
    if (withPeers) {
      big.push({
        tool: 'aws s3 cp - pipe',
        workload: bigLabel,
        bytes: BIG,
        prefix: 'aws/',
        run: () => measure(server, () => awsPipe(world, 'big/1g', 'aws/big', BIG)),
        note: 'two processes, CPU and RSS summed',
      });
      big.push({
        tool: 'rclone copyto',
        workload: bigLabel,
        bytes: BIG,
        prefix: 'rclone/',
        run: () => rclone('copyto', 'src:bench-src/big/1g', 'dst:bench-dst/rclone/big'),
      });
    }
    await compare(big);

    if (sweep) {
      const variants: Candidate[] = [];
      for (const partSize of [8, 16, 32]) {
        for (const readAhead of [1, 4]) {
          variants.push(
            engine(`engine, part ${partSize} MiB, read-ahead ${readAhead}`, 'big/1g', BIG, {
              partSize: partSize * MiB,
              readAhead,
              rangeSize: partSize * MiB,
            }),
          );
        }
      }
      await compare(variants);
    }

    if (withSmall) {
      const smallBytes = SMALL * SMALL_COUNT;
      const workload = `${SMALL_COUNT} x 1 MiB`;
      const small: Candidate[] = [
        ...[
          ['this engine (copyBatch, 4 at once, malloc tuning)', MALLOC_ENV],
          ['this engine (copyBatch, 4 at once, no malloc tuning)', {}],
        ].map(([tool, env]): Candidate => ({
          tool: tool as string,
          workload,
          bytes: smallBytes,
          prefix: 'engine/',
          run: () =>
            runEngine(
              server,
              world,
              {
                mode: 'batch',
                prefix: 'small/',
                destPrefix: 'engine/small/',
                concurrency: 4,
                options: engineOptions,
              },
              env as Record<string, string>,
            ),
        })),
      ];
      if (withPeers) {
        const keys = Array.from({ length: SMALL_COUNT }, (_, i) => `small/${String(i).padStart(4, '0')}`);
        small.push({
          tool: 'rclone copy --transfers 4',
          workload,
          bytes: smallBytes,
          prefix: 'rclone/',
          run: () => rclone('copy', 'src:bench-src/small', 'dst:bench-dst/rclone/small', '--transfers', '4'),
        });
        if (withAwsSmall)
          small.push({
            tool: 'aws s3 cp - pipe, 4 at once',
            workload,
            bytes: smallBytes,
            prefix: 'aws/',
            reps: 1,
            run: () => measure(server, () => pool(keys, 4, (k) => awsPipe(world, k, `aws/${k}`, SMALL))),
            note: '1 run (2 processes per object); RSS: largest pair',
          });
      }
      await compare(small);
    }

    if (with4g)
      await compare([engine('this engine (defaults, malloc tuning)', 'big/4g', HUGE, engineOptions, 1)]);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    '| client | workload | wall s, median (runs) | MiB/s | client CPU s/GiB | peak RSS MiB | server CPU s/GiB | note |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(row(r));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
