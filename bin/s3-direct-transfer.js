#!/usr/bin/env node
// Loads the TypeScript sources through tsx (no build step); heavy modules load lazily per command.
'use strict';
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
