/**
 * How bench/pipeline.ts measures a run: a frozen copy of the code under test, the rest of the machine's
 * load during a run (/proc/stat), and one measured run of a candidate against the world process
 * (counters before and after, the destination verified and deleted), repeated while the machine was busy.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Server, Usage } from './harness';

export interface Measured {
  /** CPU seconds used on the machine during the run by anything but the client and the server. */
  otherCpuS: number;
  wallS: number;
  cpuS: number;
  rssMiB: number;
  serverCpuS: number;
  teaCalls: number;
  requests: number;
}

export interface Candidate {
  name: string;
  kind: 'tool' | 'peer' | 'floor';
  objects: number;
  run: (destPrefix: string, sourcePrefix: string) => Promise<Usage>;
}

/**
 * A frozen copy of the code the measured clients run (the CLI and its bundle, the floors), so that edits
 * to the working tree during a long benchmark do not change what is measured between runs. Answers its
 * root and a description of the code (HEAD plus the working-tree changes, hashed).
 */
export function snapshot(root: string, out: string): { root: string; code: string } {
  // One per benchmark process: two benchmarks at once must not replace each other's code.
  const copy = join(out, `snapshot-${process.pid}`);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  const entries = ['bin', 'cli', 'local', 'shared', 'functions', 'infra', 'bench', 'scripts', 'emulators'];
  for (const entry of [...entries, 'package.json', 'tsconfig.json']) {
    cpSync(join(root, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  // Not trimmed: porcelain lines start with a space when only the working tree changed.
  const git = (...a: string[]): string => execFileSync('git', a, { cwd: root, encoding: 'utf8' });
  const dirs = ['bin', 'cli', 'local', 'shared', 'functions', 'infra', 'scripts'];
  const changed = git('status', '--porcelain', '--', ...dirs);
  const diff = git('diff', 'HEAD', '--', ...dirs) + changed;
  const hash = execFileSync('sha1sum', { input: diff, encoding: 'utf8' }).slice(0, 10);
  const files = changed
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3))
    .join(', ');
  return {
    root: copy,
    code: `HEAD ${git('rev-parse', '--short', 'HEAD').trim()}${files ? ` + working tree (${hash}): ${files}` : ''}`,
  };
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
function machineCpuS(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

export interface MeasureSettings {
  server: Server;
  /** Objects of a full run: those runs are verified (count and a sample's sha256). */
  count: number;
  sample: number;
  destBucket: string;
  /** A run is quiet when the rest of the machine used less than this share of one core meanwhile. */
  quietShare: number;
  /** Extra attempts of a run that was not quiet (the fastest attempt is kept). */
  retries: number;
}

export const describeRun = (m: Measured, objects: number): string =>
  `${(objects / m.wallS).toFixed(0)} obj/s, wall ${m.wallS.toFixed(1)} s, CPU ${m.cpuS.toFixed(1)} s, ` +
  `RSS ${m.rssMiB.toFixed(0)} MiB, server CPU ${m.serverCpuS.toFixed(1)} s, TEA ${m.teaCalls}, ` +
  `requests ${m.requests}, other load ${m.otherCpuS.toFixed(1)} CPU s`;

/** Measures runs of candidates: `measure` once, `measureQuiet` until the machine was quiet. */
export function measurer(settings: MeasureSettings) {
  const { server } = settings;
  let runNumber = 0;
  const measure = async (c: Candidate, sourcePrefix: string, objects = c.objects): Promise<Measured> => {
    const destPrefix = `run-${runNumber++}/`;
    await server.ask('reset');
    const before = await server.ask<{ cpuMs: number }>('counters');
    const machineBefore = machineCpuS();
    const started = process.hrtime.bigint();
    const usage = await c.run(destPrefix, sourcePrefix);
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    const machineAfter = machineCpuS();
    const after = await server.ask<{ cpuMs: number; teaCalls: number; requests: Record<string, number> }>(
      'counters',
    );
    if (objects === settings.count) {
      const check = await server.ask<{ count: number; missing: number; bad: string[] }>(
        `verify ${settings.destBucket} ${destPrefix} ${settings.sample}`,
      );
      if (check.count !== settings.count || check.missing !== 0 || check.bad.length !== 0) {
        throw new Error(`${c.name}: verification failed: ${JSON.stringify(check).slice(0, 500)}`);
      }
    }
    await server.ask(`delete ${settings.destBucket} ${destPrefix}`);
    const serverCpuS = (after.cpuMs - before.cpuMs) / 1000;
    return {
      otherCpuS: Math.max(0, machineAfter - machineBefore - usage.cpuS - serverCpuS),
      wallS,
      cpuS: usage.cpuS,
      rssMiB: usage.rssMiB,
      serverCpuS,
      teaCalls: after.teaCalls,
      requests: Object.values(after.requests).reduce((a, b) => a + b, 0),
    };
  };
  const measureQuiet = async (c: Candidate, sourcePrefix: string, label: string): Promise<Measured> => {
    let best: Measured | undefined;
    for (let attempt = 0; attempt <= settings.retries; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 5000));
      const m = await measure(c, sourcePrefix);
      const quiet = m.otherCpuS <= settings.quietShare * m.wallS;
      console.error(`${label}: ${c.name}: ${describeRun(m, c.objects)}${quiet ? '' : ' (not quiet)'}`);
      // Load from outside the machine (other guests) does not show in /proc/stat: keep the fastest.
      if (!best || m.wallS < best.wallS) best = m;
      if (quiet) break;
    }
    return best!;
  };
  return { measure, measureQuiet };
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * The table of one world: medians (runs in objects/s), and per rep the ratio to rclone at its defaults
 * and at equal connections (the peers named `rclone ... (defaults` and `rclone ... equal`).
 */
export function printTable(candidates: Candidate[], results: Map<string, Measured[]>, count: number): void {
  const peer = (word: string): Candidate | undefined =>
    candidates.find((c) => c.kind === 'peer' && c.name.startsWith('rclone') && c.name.includes(word));
  const ratioTo = (c: Candidate, p: Candidate | undefined, runs: Measured[]): string => {
    const theirs = p && results.get(p.name);
    if (!theirs?.length || c.objects !== count) return '';
    return median(runs.map((m, rep) => theirs[rep].wallS / m.wallS)).toFixed(2);
  };
  console.log(
    '| client | objects/s, median (runs) | wall s | × rclone defaults | × rclone equal connections | client CPU s | CPU ms/object | peak RSS MiB | server CPU s | credentials-endpoint calls | S3 requests | other load, CPU s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of candidates) {
    const runs = results.get(c.name) ?? [];
    if (!runs.length) continue;
    const rates = runs.map((m) => c.objects / m.wallS);
    const cpu = median(runs.map((m) => m.cpuS));
    const tea =
      c.kind === 'tool' ? median(runs.map((m) => m.teaCalls)) : c.kind === 'peer' ? '1 (bench)' : '-';
    console.log(
      `| ${c.name} | ${median(rates).toFixed(0)} (${rates.map((r) => r.toFixed(0)).join(' / ')}) | ` +
        `${median(runs.map((m) => m.wallS)).toFixed(2)} | ${ratioTo(c, peer('defaults'), runs)} | ` +
        `${ratioTo(c, peer('equal'), runs)} | ${cpu.toFixed(1)} | ${((cpu / c.objects) * 1000).toFixed(2)} | ` +
        `${median(runs.map((m) => m.rssMiB)).toFixed(0)} | ${median(runs.map((m) => m.serverCpuS)).toFixed(1)} | ` +
        `${tea} | ${median(runs.map((m) => m.requests))} | ${median(runs.map((m) => m.otherCpuS)).toFixed(1)} |`,
    );
  }
}
