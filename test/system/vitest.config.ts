import { defineConfig } from "vitest/config";

// The whole co-op under fire: a real chain, real provider processes and the client (or the
// CLI), broken on purpose. Each file runs its own chain and providers, one file after another
// (two cores), with long timeouts: a scenario waits out real epochs.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
