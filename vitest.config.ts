import {defineConfig} from 'vitest/config'

/**
 * The multi-node lab tests (test/lab/lab.test.ts) run alone, after every other file: their nodes
 * flood links and start IRMds and IPCPs, which on a small host starves the one-node native and e2e
 * tests beside them into timeouts.
 */
const LAB = 'test/lab/lab.test.ts'

export default defineConfig({
  test: {
    disableConsoleIntercept: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: [LAB, '**/node_modules/**'],
          fileParallelism: true,
          sequence: {groupOrder: 0},
        },
      },
      {
        extends: true,
        test: {name: 'lab', include: [LAB], fileParallelism: false, sequence: {groupOrder: 1}},
      },
    ],
  },
})
