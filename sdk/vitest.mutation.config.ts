// The sdk's tests for mutation runs (`npm run mutate`): all but the multi-GiB and streaming
// throughput tests, which would take most of every mutant's run and kill nothing the others miss,
// and, through COOP_MUTATION_RUN, without the layouts that put a 1–16 MiB chunk over tiny stripes
// and the SIMD-vs-portable tree comparisons above 64 KiB (minutes each under Stryker's
// instrumentation; the same code paths are still tested on smaller inputs). Time limits are
// generous: the instrumented code runs several times slower.
import { fileURLToPath } from "node:url";

import { defineConfig, mergeConfig } from "vitest/config";

import base from "./vitest.config.ts";

export default mergeConfig(
  base,
  defineConfig({
    // Stryker runs from the repository root (the sdk's tests read test/vectors and scripts/).
    root: fileURLToPath(new URL(".", import.meta.url)),
    test: {
      env: { COOP_MUTATION_RUN: "1" },
      setupFiles: ["test/mutation-setup.ts"],
      testTimeout: 600_000,
      exclude: ["test/crypto-large.test.ts", "test/pipeline-stream.test.ts", "**/node_modules/**"],
    },
  }),
);
