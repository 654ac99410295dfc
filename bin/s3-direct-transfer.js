#!/usr/bin/env node
// Loads the TypeScript sources through tsx (no build step); heavy modules load lazily per command.
'use strict';

/**
 * glibc malloc settings for a copy: part buffers (8 MiB) come from the heap and are reused instead of
 * being mmap'ed and page-faulted afresh for every part, and freed memory is kept for the next part.
 * About 15% less CPU per GiB copied (bench/copy-engine.ts, "Lambda env"); the copy Lambda sets the same
 * variables (shared/copy/malloc-tuning.json). glibc reads them at process start only, so the command re-runs itself once with them set.
 */
const MALLOC_TUNING = require('../shared/copy/malloc-tuning.json');

function reexecTuned() {
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...MALLOC_TUNING, ...process.env },
  });
  // The child does the work: a signal for this process goes to it, and its exit is ours.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('error', (error) => {
    console.error(`s3-direct-transfer: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

const tuned =
  process.platform !== 'linux' ||
  Object.keys(MALLOC_TUNING).some((name) => name in process.env) ||
  process.env.S3_DIRECT_TRANSFER_NO_REEXEC === '1';

if (!tuned) {
  reexecTuned();
} else {
  require('tsx/cjs');
  require('../cli/main.ts')
    .main(process.argv)
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error) => {
      console.error(`s3-direct-transfer: ${error && error.message ? error.message : String(error)}`);
      process.exitCode = 1;
    });
}
