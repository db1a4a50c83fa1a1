import { defineConfig } from "vitest/config";

// Each test file runs its own chain and provider processes; files run one after another so two
// chains, their deployments and their provider nodes never share the machine's two cores.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
