import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker-thread and namespace tests share 2 cores: run files one at a time so
    // busy arbiters never compete with each other for a core.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'runs/vitest.json' },
  },
});
