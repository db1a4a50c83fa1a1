import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { NextConfig } from "next";

const here = dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  // The sdk ships TypeScript sources (with .ts import paths); Next compiles them with the app.
  transpilePackages: ["@coop-cloud/sdk"],
  // The workspace root holds node_modules (npm workspaces).
  turbopack: { root: join(here, "..") },
  outputFileTracingRoot: join(here, ".."),
  // Separate builds side by side (tests, benchmarks): NEXT_DIST_DIR=.next-something.
  distDir: process.env.NEXT_DIST_DIR ?? ".next",
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
