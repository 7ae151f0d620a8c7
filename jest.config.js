// Three tiers: unit specs next to the code (no I/O); medium specs under test/medium/, services
// against a real PostgreSQL without HTTP, the simulator or the whole app (rows from test/factories/);
// integration specs under the rest of test/, the app over real HTTP. Both share one PostgreSQL for
// the run (an embedded server, or DATABASE_URL).
// NestJS 12 and pg-boss ship only ES modules; our code is CommonJS. Node 24 loads them with
// require(esm), and Jest does too when Node runs with --experimental-vm-modules (see the test script).
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'] },
};

/** @type {import('jest').Config} */
module.exports = {
  // One more worker than the 2 cores CI has: the integration specs wait on sockets, timers and
  // child processes much of the time (the run averaged 1.6 cores at 3 workers). Measured:
  // docs/testing.md, "Suite time".
  maxWorkers: 3,
  testTimeout: 30000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'medium',
      roots: ['<rootDir>/test/medium'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/medium-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.spec.ts'],
      // test/kube/ holds the specs of the real-Kubernetes tier only (npm run test:kube); test/medium/
      // is its own tier above.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/kube/', '<rootDir>/test/medium/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
