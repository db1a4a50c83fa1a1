import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/** Files in vitest's usual order, but screenshots.test.ts last (it pictures what the others built). */
class ScreenshotsLast extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => f.moduleId.endsWith("screenshots.test.ts");
    return [...sorted.filter((f) => !last(f)), ...sorted.filter(last)];
  }
}

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
    // The stack's processes are children of the worker: a fork, so its exit hook stops them.
    pool: "forks",
    sequence: { sequencer: ScreenshotsLast },
  },
});
