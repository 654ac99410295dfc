#!/usr/bin/env node
console.error('s3-direct-transfer: the command line arrives with the pipeline (see README).');
process.exit(2);
