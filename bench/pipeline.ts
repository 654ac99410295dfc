/**
 * Pipeline benchmark (not a test): many small objects under one prefix through the whole local pipeline
 * (`s3-direct-transfer run`, the real bundled CLI) against the peers that copy between two sets of
 * credentials (`rclone copy` at its defaults and with as many connections as ours, and `aws s3 sync`
 * down to a folder then up), in the embedded world (S3 gateway + TEA emulator, a process of its own),
 * in each world of bench/worlds.ts (loopback, and through the shaping proxy: like S3 as a large instance
 * and as a Lambda sees it). Every measured client is a child process under `/usr/bin/time`. The
 * candidates run interleaved, rep by rep (order rotated); each run writes a fresh destination prefix
 * (the code measured is a frozen copy of the working tree, taken at the start), is verified (count and
 * sha256 of a sample) and deleted. A run during which other load used more than `--quiet-share` of a
 * core is repeated, up to `--retries` times, and the fastest attempt kept.
 *
 *   npx tsx bench/pipeline.ts [--worlds loopback,instance,lambda] [--reps 3] [--count 5000]
 *       [--size 16384] [--settings 8x4,16x4,...] [--lambda-settings 4,8,20] [--no-peers] [--floor]
 *       [--profile] [--quiet-share 0.1] [--retries 3] [--env KEY=VALUE ...] [--large 1x1024]
 *
 * `--settings` lists `--concurrency` x `--objects-per-batch-concurrency` pairs for this tool (its
 * defaults always run, without flags); `BxP+--flag` runs `node --flag bin` instead of the bin itself
 * (whose shebang sets the node flags of `run`), `BxP+node` plain `node bin`. In the Lambda world,
 * `--lambda-settings` are the objects at once of one copy Lambda (copyBatch on 20-item batches, one
 * after another). `--floor` adds, on loopback, the floors of bench/pipeline-floor.ts. `--large NxM`:
 * after the reps, each setting of this tool copies N objects of M MiB once (throughput and peak RSS).
 * `--profile` runs the CLI once more with `--cpu-prof` (into .bench-out/pipeline/prof).
 * Needs Debian's awscli and rclone (`apt-get install -y awscli rclone`) and /usr/bin/time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_DEFAULTS } from '../local/run-defaults';
import { baseEnv, bundleBench, Server, timed as harnessTimed, type Usage } from './harness';
import { awsSync, rclone, rcloneConfig, type PeerWorld } from './peers';
import {
  describeRun,
  measurer,
  printTable,
  snapshot,
  type Candidate,
  type Measured,
} from './pipeline-measure';
import { inRegime, regimesFrom, type Regime } from './worlds';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, '.bench-out', 'pipeline');
const SOURCE_BUCKET = 'bench-src';
const DEST_BUCKET = 'bench-dst';
const PREFIX = 'granules/';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const REPS = Number(option('--reps', '3'));
const COUNT = Number(option('--count', '5000'));
const SIZE = Number(option('--size', String(16 * 1024)));
const withPeers = !flag('--no-peers');
const withFloor = flag('--floor');
const profile = flag('--profile');
const [LARGE_COUNT, LARGE_MIB] = option('--large', '0x0').split('x').map(Number);
const DEFAULT_SETTING = `${RUN_DEFAULTS.batches}x${RUN_DEFAULTS.objectsPerBatch}`;
const settings = [
  DEFAULT_SETTING,
  ...option('--settings', '')
    .split(',')
    .filter((s) => s && s !== DEFAULT_SETTING),
];
const lambdaSettings = option('--lambda-settings', '4,8,20').split(',').map(Number);
const extraEnv: Record<string, string> = {};
args.forEach((a, i) => {
  if (a === '--env') {
    const [k, ...v] = args[i + 1].split('=');
    extraEnv[k] = v.join('=');
  }
});

interface World {
  endpoint: string;
  region: string;
  credentialsEndpoint: string;
  token: string;
  destination: { accessKeyId: string; secretAccessKey: string };
  processEnv: Record<string, string>;
}

/** {@link harnessTimed} with this benchmark's folder; answers the usage and stdout, stderr in errors. */
async function timed(command: string[], env: NodeJS.ProcessEnv): Promise<Usage & { stdout: string }> {
  let stdout = '';
  let stderr = '';
  const p = harnessTimed(command, env, ['ignore', 'pipe', 'pipe'], OUT, () => `: ${stderr.slice(-2000)}`);
  p.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { ...(await p.done), stdout };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const code = snapshot(ROOT, OUT);
  console.error(`measuring ${code.code}`);
  // The CLI runs its bundle, as a user's does: build it in the frozen copy.
  execFileSync(process.execPath, [join(code.root, 'scripts/build-cli.js')], {
    cwd: code.root,
    stdio: 'inherit',
  });
  bundleBench([join(code.root, 'bench/pipeline-server.ts'), join(code.root, 'bench/pipeline-floor.ts')], OUT);
  const temp = mkdtempSync(join(tmpdir(), 'bench-pipeline-'));
  console.error(`seeding ${COUNT} x ${SIZE} bytes under s3://${SOURCE_BUCKET}/${PREFIX} ...`);
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      join(OUT, 'pipeline-server.js'),
      PREFIX,
      String(COUNT),
      String(SIZE),
      String(LARGE_COUNT),
      String(LARGE_MIB * 1024 * 1024),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const server = new Server(child);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      child.kill('SIGTERM');
      rmSync(temp, { recursive: true, force: true });
      process.exit(1);
    });
  }
  const world = JSON.parse(await server.next()) as World;
  // The peers and floors cannot refresh: fetch the TEA credentials once (they live 3600 s).
  const response = await fetch(world.credentialsEndpoint, {
    headers: { Authorization: `Bearer ${world.token}` },
    redirect: 'manual',
  });
  if (response.status !== 200) throw new Error(`credentials endpoint answered ${response.status}`);
  const source = (await response.json()) as PeerWorld['source'];
  try {
    for (const regime of regimesFrom(args)) {
      console.error(`world: ${regime.label}`);
      await inRegime(regime, world.endpoint, (endpoint) =>
        measureWorld(server, { ...world, endpoint }, source, regime, code.root, temp),
      );
    }
  } finally {
    await server.stop();
    rmSync(temp, { recursive: true, force: true });
    rmSync(code.root, { recursive: true, force: true });
  }
}

async function measureWorld(
  server: Server,
  world: World,
  source: PeerWorld['source'],
  regime: Regime,
  codeRoot: string,
  temp: string,
): Promise<void> {
  const peerWorld: PeerWorld = { ...world, source, outDir: temp };
  const cliEnv: NodeJS.ProcessEnv = {
    ...baseEnv,
    ...world.processEnv,
    AWS_ENDPOINT_URL_S3: world.endpoint,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extraEnv,
  };
  let eventNumber = 0;
  const runTool =
    (setting: string, nodeArgs: string[] = []) =>
    async (destPrefix: string, sourcePrefix: string): Promise<Usage> => {
      const event = join(temp, `event-${eventNumber++}.json`);
      writeFileSync(
        event,
        JSON.stringify({
          CredentialsEndpoint: world.credentialsEndpoint,
          BearerToken: world.token,
          Source: { Bucket: SOURCE_BUCKET, Prefix: sourcePrefix },
          Dest: { Bucket: DEST_BUCKET, Prefix: destPrefix },
        }),
      );
      const [batches, perBatch] = setting.split('x');
      const flags =
        setting === DEFAULT_SETTING
          ? []
          : ['--concurrency', batches, '--objects-per-batch-concurrency', perBatch];
      // Executed as a user's shell does (its shebang's node flags apply); `+node` runs plain `node bin`.
      const bin = join(codeRoot, 'bin/s3-direct-transfer.js');
      const launcher = nodeArgs.length
        ? [process.execPath, ...nodeArgs.filter((a) => a !== 'node'), bin]
        : [bin];
      const out = await timed([...launcher, 'run', '--event', event, '--quiet', ...flags], cliEnv);
      const result = JSON.parse(out.stdout) as { Failed: number };
      if (result.Failed !== 0)
        throw new Error(`${result.Failed} objects failed: ${out.stdout.slice(0, 2000)}`);
      rmSync(event, { force: true });
      return out;
    };
  const floorJob = (job: Record<string, unknown>) => (destPrefix: string, sourcePrefix: string) =>
    timed(
      [
        process.execPath,
        join(OUT, 'pipeline-floor.js'),
        JSON.stringify({
          ...job,
          endpoint: world.endpoint,
          region: world.region,
          source,
          destination: world.destination,
          sourceBucket: SOURCE_BUCKET,
          destBucket: DEST_BUCKET,
          prefix: sourcePrefix,
          destPrefix,
        }),
      ],
      { ...baseEnv },
    );

  const candidates: Candidate[] = settings.map((entry): Candidate => {
    const [s, ...nodeArgs] = entry.split('+');
    const flags =
      s === DEFAULT_SETTING
        ? `(defaults ${s.replace('x', ' x ')})`
        : `--concurrency ${s.replace('x', ' --objects-per-batch-concurrency ')}`;
    return {
      name: `this tool ${flags}${nodeArgs.length ? ` (node ${nodeArgs.join(' ')})` : ''}`,
      kind: 'tool',
      objects: COUNT,
      run: runTool(s, nodeArgs),
    };
  });
  if (regime.name === 'lambda') {
    for (const perBatch of lambdaSettings) {
      candidates.push({
        name: `one copy Lambda: copyBatch on 20-item batches one after another, ${perBatch} objects at once`,
        kind: 'floor',
        objects: COUNT,
        run: floorJob({ mode: 'engine', batches: 1, perBatch }),
      });
    }
  }
  if (withFloor && regime.name === 'loopback') {
    candidates.push(
      {
        name: 'floor: AWS SDK GetObject + PutObject, 32 at once',
        kind: 'floor',
        objects: COUNT,
        run: floorJob({ mode: 'raw', width: 32 }),
      },
      {
        name: 'floor: node:http + SigV4 GET + PUT, no SDK, 32 at once',
        kind: 'floor',
        objects: COUNT,
        run: floorJob({ mode: 'signed', width: 32 }),
      },
      {
        name: `floor: copy engine (copyBatch ${DEFAULT_SETTING.replace('x', ' x ')}), no Step Functions host`,
        kind: 'floor',
        objects: COUNT,
        run: floorJob({
          mode: 'engine',
          batches: RUN_DEFAULTS.batches,
          perBatch: RUN_DEFAULTS.objectsPerBatch,
        }),
      },
    );
  }
  if (withPeers) {
    const config = rcloneConfig(peerWorld);
    const copy = (extra: string[]) => (destPrefix: string, sourcePrefix: string) =>
      rclone(peerWorld, config, [
        'copy',
        ...extra,
        `src:${SOURCE_BUCKET}/${sourcePrefix}`,
        `dst:${DEST_BUCKET}/${destPrefix}`,
      ]);
    const equal = RUN_DEFAULTS.batches * RUN_DEFAULTS.objectsPerBatch;
    candidates.push(
      {
        name: 'rclone copy (defaults: --transfers 4 --checkers 8)',
        kind: 'peer',
        objects: COUNT,
        run: copy([]),
      },
      {
        name: `rclone copy, equal connections (--transfers ${equal})`,
        kind: 'peer',
        objects: COUNT,
        run: copy(['--transfers', String(equal)]),
      },
      {
        name: 'aws s3 sync down + up (defaults)',
        kind: 'peer',
        objects: COUNT,
        run: (destPrefix, sourcePrefix) =>
          awsSync(peerWorld, `s3://${SOURCE_BUCKET}/${sourcePrefix}`, `s3://${DEST_BUCKET}/${destPrefix}`),
      },
    );
  }

  const { measure, measureQuiet } = measurer({
    server,
    count: COUNT,
    sample: 50,
    destBucket: DEST_BUCKET,
    quietShare: Number(option('--quiet-share', '0.1')),
    retries: Number(option('--retries', '3')),
  });
  const one: Candidate = {
    name: 'this tool, 1 object (fixed cost)',
    kind: 'tool',
    objects: 1,
    run: runTool(DEFAULT_SETTING),
  };
  const results = new Map<string, Measured[]>([...candidates, one].map((c) => [c.name, []]));
  // Warm-up (page cache), then the fixed cost: the CLI copying one object, once per rep.
  await measure(one, `one-${PREFIX}`);
  for (let rep = 0; rep < REPS; rep++) {
    const order = candidates.map((_, i) => candidates[(i + rep) % candidates.length]);
    for (const c of order) results.get(c.name)!.push(await measureQuiet(c, PREFIX, `rep ${rep + 1}`));
    const m = await measure(one, `one-${PREFIX}`);
    results.get(one.name)!.push(m);
    console.error(`rep ${rep + 1}: ${one.name}: ${describeRun(m, 1)}`);
  }
  const largeLines: string[] = [];
  for (const c of LARGE_COUNT > 0 ? candidates.filter((x) => x.kind === 'tool') : []) {
    const m = await measure({ ...c, objects: LARGE_COUNT }, `large-${PREFIX}`);
    const line = `${c.name}, ${LARGE_COUNT} x ${LARGE_MIB} MiB: ${describeRun(m, LARGE_COUNT)}, ${((LARGE_COUNT * LARGE_MIB) / m.wallS).toFixed(1)} MiB/s`;
    largeLines.push(line);
    console.error(line);
  }
  if (profile) {
    const dir = join(OUT, 'prof');
    rmSync(dir, { recursive: true, force: true });
    const m = await measure(
      { ...one, objects: COUNT, run: runTool(DEFAULT_SETTING, ['--cpu-prof', `--cpu-prof-dir=${dir}`]) },
      PREFIX,
    );
    console.error(`profiled run (defaults, --cpu-prof): ${describeRun(m, COUNT)}; profile in ${dir}`);
  }

  console.log(`\n### ${regime.label}\n`);
  console.log(
    `${COUNT} x ${SIZE / 1024} KiB, ${REPS} reps interleaved; medians (runs in objects/s); ratio = per rep, the peer's wall time ÷ ours, median.\n`,
  );
  printTable([...candidates, one], results, COUNT);
  if (largeLines.length) console.log(`\n${largeLines.map((l) => `- ${l}`).join('\n')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
