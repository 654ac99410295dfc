#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=512
// Runs the esbuild bundle in dist/cli/ (built by `npm ci`'s prepare script, `npm run build` or the
// tests); when it is missing or older than the sources, runs the TypeScript sources through tsx.
'use strict';
const { join } = require('node:path');
const { isStale } = require('../scripts/build-cli.js');

let cli;
if (!isStale()) {
  cli = require(join(__dirname, '..', 'dist', 'cli', 'main.js'));
} else {
  process.stderr.write(
    's3-direct-transfer: dist/cli is missing or older than the sources (npm run build); running them with tsx\n',
  );
  require('tsx/cjs');
  cli = require('../cli/main.ts');
}
cli
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error) => {
    console.error(`s3-direct-transfer: ${error && error.message ? error.message : String(error)}`);
    process.exitCode = 1;
  });
