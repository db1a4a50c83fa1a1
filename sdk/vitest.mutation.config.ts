// The sdk's tests for mutation runs (`npm run mutate`): all but the multi-GiB and streaming
// throughput tests, which would take most of every mutant's run and kill nothing the others miss,
// and without the layouts that put a 1–16 MiB chunk over tiny stripes (tens of thousands of
// stripes each, minutes under Stryker's instrumentation; the same chunk sizes are still tested
// over wider stripes). Time limits are generous: the instrumented code runs several times slower.
import { fileURLToPath } from "node:url";

import { defineConfig, mergeConfig } from "vitest/config";

import base from "./vitest.config.ts";

export default mergeConfig(
  base,
  defineConfig({
    // Stryker runs from the repository root (the sdk's tests read test/vectors and scripts/).
    root: fileURLToPath(new URL(".", import.meta.url)),
    test: {
      env: { COOP_QUICK_LAYOUTS: "1" },
      setupFiles: ["test/mutation-setup.ts"],
      testTimeout: 600_000,
      exclude: ["test/crypto-large.test.ts", "test/pipeline-stream.test.ts", "**/node_modules/**"],
    },
  }),
);
