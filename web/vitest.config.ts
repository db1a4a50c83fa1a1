import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// Component and hook tests of the dApp in jsdom (`vitest run --root web`). The browser tests
// (real chain, providers, Chromium) have their own config: vitest.browser.config.ts.
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) },
  },
  test: {
    environment: "jsdom",
    include: ["test/unit/**/*.test.{ts,tsx}"],
    testTimeout: 30_000,
  },
});
