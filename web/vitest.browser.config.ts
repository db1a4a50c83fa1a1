import { defineConfig } from "vitest/config";

// Browser tests: each file starts a whole local co-op (chain, providers, the built dApp served
// by `next start`) with test/browser/stack.ts and drives headless Chromium with the test
// wallet. One file at a time (two cores), long timeouts: a deal waits out real epochs.
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 900_000,
    fileParallelism: false,
    // The stack's processes are children of the worker: a fork, so a crash still runs its exit hook.
    pool: "forks",
  },
});
