// The sdk's tests for mutation runs (`npm run mutate`): all but the multi-GiB and streaming
// throughput tests, which would take most of every mutant's run and kill nothing the others miss.
import { defineConfig, mergeConfig } from "vitest/config";

import base from "./vitest.config.ts";

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ["test/crypto-large.test.ts", "test/pipeline-stream.test.ts", "**/node_modules/**"],
    },
  }),
);
