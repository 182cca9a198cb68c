import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Two cores on every machine, CI included.
    maxWorkers: 2,
    testTimeout: 30_000,
  },
});
