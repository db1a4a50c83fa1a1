import { defineConfig } from "vitest/config";

// The client and the CLI against a real chain and real provider processes: each file runs its
// own chain and providers, one file after another (two cores).
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
