/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  testTimeout: 60000,
  // s3rver's continuation tokens need the legacy OpenSSL provider on Node 20.
  setupFiles: ['<rootDir>/test/helpers/setup-env.ts'],
  // Builds dist/cli (the bundle bin/s3-direct-transfer.js runs) when a source is newer than it.
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
};
