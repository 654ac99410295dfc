/**
 * Where a process's memory goes (not a test): preloaded with `node -r ./bench/rss-sampler.js ...`, it
 * samples process.memoryUsage() every 20 ms and, at exit, appends one JSON line to
 * .bench-out/rss-samples.jsonl: the command, the peak RSS and, at that peak, the V8 heap (used and
 * reserved), the memory of Buffers and ArrayBuffers (outside the heap) and the rest (code, native
 * modules, the runtime, malloc's free lists), all in MiB; also the peak of each field on its own.
 *
 *   npx tsx bench/run-overhead.ts --reps 1 --large-mib 1024 --bin after=bin/s3-direct-transfer.js \
 *     --node-flag "after=--max-semi-space-size=1 --max-old-space-size=512 -r $PWD/bench/rss-sampler.js"
 */
'use strict';
const { appendFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const MiB = 1024 * 1024;
const fields = ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'];
let atPeak = process.memoryUsage();
const peaks = { ...atPeak };

function sample() {
  const m = process.memoryUsage();
  if (m.rss > atPeak.rss) atPeak = m;
  for (const f of fields) peaks[f] = Math.max(peaks[f], m[f]);
}

const timer = setInterval(sample, 20);
timer.unref();

process.on('exit', () => {
  sample();
  const mib = (n) => Math.round(n / MiB);
  const line = {
    command: process.argv.slice(2).join(' ').slice(0, 200),
    peakRssMiB: mib(atPeak.rss),
    atPeak: {
      heapUsedMiB: mib(atPeak.heapUsed),
      heapReservedMiB: mib(atPeak.heapTotal),
      // `external` includes `arrayBuffers` (Buffers' memory lives outside the V8 heap).
      buffersMiB: mib(atPeak.arrayBuffers),
      otherExternalMiB: mib(atPeak.external - atPeak.arrayBuffers),
      restMiB: mib(atPeak.rss - atPeak.heapTotal - atPeak.external),
    },
    peaksMiB: Object.fromEntries(fields.map((f) => [f, mib(peaks[f])])),
    maxRssMiB: mib(process.resourceUsage().maxRSS * 1024),
  };
  const dir = join(__dirname, '..', '.bench-out');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'rss-samples.jsonl'), `${JSON.stringify(line)}\n`);
});
