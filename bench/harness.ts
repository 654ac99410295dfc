/**
 * What the benchmarks share: the line protocol of the world process they drive, and running a client
 * under /usr/bin/time so that every client's CPU seconds and peak RSS are measured the same way.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { buildSync } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/** The environment every measured client starts from. */
export const baseEnv = { PATH: '/usr/bin:/bin', HOME: tmpdir(), LANG: 'C.UTF-8' };

/** A world process (embedded S3, emulator) that answers one JSON line per command line. */
export class Server {
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];

  constructor(private readonly child: ChildProcess) {
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
  }

  next(): Promise<string> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  async ask<T = Record<string, unknown>>(command: string): Promise<T> {
    const answer = this.next();
    this.child.stdin!.write(`${command}\n`);
    const parsed = JSON.parse(await answer) as T & { error?: string };
    if (parsed.error) throw new Error(`server: ${parsed.error}`);
    return parsed;
  }

  async stop(): Promise<void> {
    this.child.stdin!.write('exit\n');
    await new Promise((resolve) => this.child.once('exit', resolve));
  }
}

/** What a benchmark table shows of a process: CPU seconds (user + system) and peak RSS. */
export interface Usage {
  cpuS: number;
  rssMiB: number;
}

/** /usr/bin/time's whole report. */
export interface TimeReport extends Usage {
  userS: number;
  sysS: number;
  minorFaults: number;
}

/**
 * Starts `command` under /usr/bin/time (its report goes to a file in `outDir`); `done` answers the
 * usage, or rejects when the command exits non-zero (`describe` adds to the message, e.g. its stderr).
 */
export function timed(
  command: string[],
  env: NodeJS.ProcessEnv,
  stdio: StdioOptions,
  outDir: string,
  describe: () => string = () => '',
): { child: ChildProcess; done: Promise<TimeReport> } {
  const file = join(outDir, `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M %R', '-o', file, ...command], { env, stdio });
  const done = new Promise<TimeReport>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`${command.slice(0, 4).join(' ')} exited with ${code}${describe()}`));
        return;
      }
      const [userS, sysS, rss, minorFaults] = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .pop()!
        .split(' ')
        .map(Number);
      rmSync(file, { force: true });
      resolve({ cpuS: userS + sysS, rssMiB: rss / 1024, userS, sysS, minorFaults });
    });
  });
  return { child, done };
}

/** Bundles bench entry points for plain `node` (packages stay in node_modules) into `outdir`. */
export function bundleBench(entryPoints: string[], outdir: string): void {
  buildSync({
    entryPoints,
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    logLevel: 'warning',
  });
}
