import { defineConfig } from 'vitest/config';

// One run covers unit, integration and e2e tests. The global setup starts the ephemeral servers
// (PostgreSQL primary + replica, MariaDB, sshd) once and tears them down at the end.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more workers only fight over the same servers.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
