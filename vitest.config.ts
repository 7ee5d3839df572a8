import { defineConfig } from 'vitest/config';

// The lab's end-to-end test (network namespaces, five real nodes, load for about 30 s)
// takes both cores while it runs; timing-sensitive files beside it (health probes at
// 200 ms intervals) were seen to miss their windows. It runs in a group of its own,
// after every other file has finished.
const LAB_E2E = 'test/lab/anycast-lab.test.ts';

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    // Interop tests start real daemons (nsd, unbound) and load generators on a 2-core box:
    // two test files at a time keeps them from starving each other of CPU.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'main', include: ['**/*.test.ts'], exclude: ['node_modules/**', 'dist/**', LAB_E2E] } },
      { extends: true, test: { name: 'lab-e2e', include: [LAB_E2E], sequence: { groupOrder: 1 } } },
    ],
  },
});
