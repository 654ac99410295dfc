/**
 * The peers the benchmarks compare against, each copying between two sets of keys (read: the issued
 * session credentials; write: the destination key pair) through the endpoint of the world they run in:
 * Debian's rclone (`/usr/bin/rclone`) and AWS CLI (`/usr/bin/aws`: another `aws` may come first on PATH).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, timed, type Usage } from './harness';

export interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where the peers copy from and to, and with which keys. */
export interface PeerWorld {
  endpoint: string;
  region: string;
  source: Keys;
  destination: Keys;
  /** Folder for /usr/bin/time reports, configs and downloads. */
  outDir: string;
}

/** The AWS CLI's environment for one side: its keys only, nothing from the user's files. */
export function awsEnv(world: PeerWorld, side: 'source' | 'destination'): NodeJS.ProcessEnv {
  const keys = world[side];
  return {
    ...baseEnv,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    ...(keys.sessionToken && { AWS_SESSION_TOKEN: keys.sessionToken }),
    AWS_DEFAULT_REGION: world.region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

const awsCommon = (world: PeerWorld): string[] => [
  '--endpoint-url',
  world.endpoint,
  '--no-progress',
  '--only-show-errors',
];

/** `aws s3 cp s3://src/k - | aws s3 cp - s3://dst/k`: two processes, CPU summed, RSS summed. */
export async function awsPipe(world: PeerWorld, from: string, to: string, size: number): Promise<Usage> {
  const get = timed(
    ['/usr/bin/aws', 's3', 'cp', from, '-', ...awsCommon(world)],
    awsEnv(world, 'source'),
    ['ignore', 'pipe', 'inherit'],
    world.outDir,
  );
  const put = timed(
    ['/usr/bin/aws', 's3', 'cp', '-', to, '--expected-size', String(size), ...awsCommon(world)],
    awsEnv(world, 'destination'),
    ['pipe', 'ignore', 'inherit'],
    world.outDir,
  );
  get.child.stdout!.pipe(put.child.stdin!);
  const [a, b] = await Promise.all([get.done, put.done]);
  return { cpuS: a.cpuS + b.cpuS, rssMiB: a.rssMiB + b.rssMiB };
}

/** `aws s3 sync` down to a local folder, then up from it (the AWS CLI has no two-credential copy). */
export async function awsSync(world: PeerWorld, from: string, to: string): Promise<Usage> {
  const dir = mkdtempSync(join(world.outDir, 'aws-sync-'));
  const run = (args: string[], side: 'source' | 'destination') =>
    timed(
      ['/usr/bin/aws', 's3', 'sync', ...args, ...awsCommon(world)],
      awsEnv(world, side),
      ['ignore', 'ignore', 'inherit'],
      world.outDir,
    ).done;
  try {
    const down = await run([from, dir], 'source');
    const up = await run([dir, to], 'destination');
    return { cpuS: down.cpuS + up.cpuS, rssMiB: Math.max(down.rssMiB, up.rssMiB) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** rclone with two S3 remotes, `src:` and `dst:`, defined in a config file of `world`'s folder. */
export function rcloneConfig(world: PeerWorld): string {
  const remote = (name: string, keys: Keys, extra: string[]): string[] => [
    `[${name}]`,
    'type = s3',
    'provider = Other',
    `access_key_id = ${keys.accessKeyId}`,
    `secret_access_key = ${keys.secretAccessKey}`,
    ...(keys.sessionToken ? [`session_token = ${keys.sessionToken}`] : []),
    `endpoint = ${world.endpoint}`,
    `region = ${world.region}`,
    'force_path_style = true',
    ...extra,
    '',
  ];
  const file = join(world.outDir, `rclone-${process.pid}-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    file,
    [
      ...remote('src', world.source, []),
      ...remote('dst', world.destination, ['no_check_bucket = true']),
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

/** One rclone run (`copy`, `copyto`, ...) with the given config. */
export function rclone(world: PeerWorld, config: string, args: string[]): Promise<Usage> {
  return timed(
    ['/usr/bin/rclone', '--config', config, ...args],
    { ...baseEnv },
    ['ignore', 'ignore', 'inherit'],
    world.outDir,
  ).done;
}

/**
 * rclone's flags for as many connections as ours: `transfers` objects at once, and for one large object
 * `uploadConcurrency` parts in flight (rclone reads an S3 source over one GET stream whatever its flags:
 * multi-thread downloads need a destination it can write at offsets, which S3 is not).
 */
export function rcloneEqual(connections: { transfers?: number; uploadConcurrency?: number }): string[] {
  return [
    ...(connections.transfers ? ['--transfers', String(connections.transfers)] : []),
    ...(connections.uploadConcurrency
      ? ['--s3-upload-concurrency', String(connections.uploadConcurrency)]
      : []),
  ];
}
