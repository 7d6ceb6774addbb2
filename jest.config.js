/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Creates the test database and applies migrations once; each test then makes its own records.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30_000,
  // Two suites at a time, whatever the core count (jest would run one on two cores): most of a
  // suite's time is waiting (timers, failovers, browsers, other processes), not computing. On
  // the 2-core CI machine the whole suite took 426 s so, 742 s one at a time.
  maxWorkers: 2,
};
