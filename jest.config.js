/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Creates the test database and applies migrations once; each test then makes its own records.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30_000,
};
