import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for a page (or a process) to catch up; on a loaded 2-core CI machine 1 s
    // (the default) is too short. It only bounds a hang: a poll returns as soon as it holds.
    expect: { poll: { timeout: 15_000 } },
    reporters: ['default'],
  },
});
