import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';

export const BIN = resolve(__dirname, '../../bin/s3-direct-transfer.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real command line in a child process, as a user would; killed after `timeoutMs`. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  const running = startCli(args, env);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
  try {
    return await running.done;
  } finally {
    clearTimeout(timer);
  }
}

export async function writeEvent(event: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-event-'));
  const file = join(dir, 'event.json');
  await writeFile(file, JSON.stringify(event));
  return file;
}

export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) keys.push(o.Key!);
  }
  return keys.sort();
}

/** The command line started in a child process, for tests that signal it while it runs. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves when stderr contains `text` (rejects after `timeoutMs`). */
  waitForStderr(text: string | RegExp, timeoutMs?: number): Promise<void>;
  readonly done: Promise<CliResult>;
}

export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  const waitForStderr = async (text: string | RegExp, timeoutMs = 60_000): Promise<void> => {
    const started = Date.now();
    const found = (): boolean => (typeof text === 'string' ? stderr.includes(text) : text.test(stderr));
    while (!found()) {
      if (Date.now() - started > timeoutMs || child.exitCode !== null) {
        throw new Error(`the command never printed ${String(text)}; stderr so far:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, stderr: () => stderr, waitForStderr, done };
}
