/**
 * Summarizes a V8 .cpuprofile (from `bench/pipeline.ts --profile`): self time by module (package or
 * project file), the top functions by self time, and the inclusive time of the frames whose function or
 * file matches the given patterns.
 *
 *   npx tsx bench/pipeline-profile.ts <file.cpuprofile> [--top 40] [--inclusive pattern,pattern,...]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args[0];
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const top = Number(option('--top', '40'));
const patterns = option('--inclusive', '').split(',').filter(Boolean);

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from samples and time deltas (microseconds).
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = [...self.values()].reduce((a, b) => a + b, 0);

function moduleOf(url: string): string {
  if (!url) return '(native / vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const m = /\/work\/[^/]+\/(.*)$/.exec(url.replace('file://', ''));
  return m ? m[1] : url;
}

const ms = (us: number): string => (us / 1000).toFixed(0).padStart(7);
const pct = (us: number): string => ((100 * us) / totalUs).toFixed(1).padStart(5);

const byModule = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, us] of self) {
  const frame = byId.get(id)!.callFrame;
  const mod = frame.functionName === '(garbage collector)' ? '(garbage collector)' : moduleOf(frame.url);
  byModule.set(mod, (byModule.get(mod) ?? 0) + us);
  const fn = `${frame.functionName || '(anonymous)'} ${moduleOf(frame.url)}:${frame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
console.log(`total sampled: ${(totalUs / 1e6).toFixed(2)} s\n\nself time by module:`);
for (const [mod, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${ms(us)} ms ${pct(us)}%  ${mod}`);
console.log('\nself time by function:');
for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${ms(us)} ms ${pct(us)}%  ${fn}`);

if (patterns.length) {
  console.log('\ninclusive time (a sample counts once per pattern even under recursion):');
  for (const pattern of patterns) {
    const re = new RegExp(pattern);
    let us = 0;
    for (const [id, t] of self) {
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        const f = byId.get(n)!.callFrame;
        if (re.test(`${f.functionName} ${f.url}`)) {
          us += t;
          break;
        }
      }
    }
    console.log(`${ms(us)} ms ${pct(us)}%  /${pattern}/`);
  }
}
