import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { NextConfig } from "next";

const here = dirname(fileURLToPath(import.meta.url));
// Separate builds side by side (tests, benchmarks, npm start): NEXT_DIST_DIR=.next-something.
const distDir = process.env.NEXT_DIST_DIR ?? ".next";

/**
 * A side-by-side build type-checks with a tsconfig of its own (`<distDir>.tsconfig.json`, beside
 * tsconfig.json and git-ignored), already including that folder's generated types: otherwise
 * `next build` adds them to the committed tsconfig.json, once per build folder.
 */
function tsconfigFor(dist: string): string {
  if (dist === ".next") return "tsconfig.json";
  const base = JSON.parse(readFileSync(join(here, "tsconfig.json"), "utf8")) as {
    include: string[];
  };
  const name = `${dist.replace(/[^\w.-]/g, "_")}.tsconfig.json`;
  const include = [...base.include, `${dist}/types/**/*.ts`, `${dist}/dev/types/**/*.ts`];
  const text = `${JSON.stringify({ extends: "./tsconfig.json", include }, null, 2)}\n`;
  let old = "";
  try {
    old = readFileSync(join(here, name), "utf8");
  } catch {
    /* first build in this folder */
  }
  if (old !== text) writeFileSync(join(here, name), text);
  return name;
}

const config: NextConfig = {
  // The sdk ships TypeScript sources (with .ts import paths); Next compiles them with the app.
  transpilePackages: ["@coop-cloud/sdk"],
  // The workspace root holds node_modules (npm workspaces).
  turbopack: { root: join(here, "..") },
  outputFileTracingRoot: join(here, ".."),
  distDir,
  typescript: { tsconfigPath: tsconfigFor(distDir) },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
