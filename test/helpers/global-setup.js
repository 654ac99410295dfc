// The e2e tests run bin/s3-direct-transfer.js as a user would: rebuild its bundle first when a source
// changed, so that they never test a stale dist/cli.
'use strict';
const { build, isStale } = require('../../scripts/build-cli.js');

module.exports = async () => {
  if (isStale()) await build();
};
