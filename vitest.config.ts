import { defineConfig } from 'vitest/config';

// `npm test` runs the fast project; `npm run test:all` runs every project.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'fast',
          include: ['test/unit/**/*.test.ts', 'test/api/**/*.test.ts', 'test/process/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: 'forks',
        },
      },
    ],
  },
});
