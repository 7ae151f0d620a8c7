// Two tiers: unit specs next to the code (no I/O), integration specs under test/ against a real
// PostgreSQL (one embedded server for the whole run, or DATABASE_URL) and real HTTP.
// NestJS 12 and pg-boss ship only ES modules; our code is CommonJS. Node 24 loads them with
// require(esm), and Jest does too when Node runs with --experimental-vm-modules (see the test script).
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  testTimeout: 30000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.spec.ts'],
      // test/kube/ holds the specs of the real-Kubernetes tier only (npm run test:kube).
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/kube/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
