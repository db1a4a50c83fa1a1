// `npm run bench`: every benchmark in one run, each figure next to the
// baseline measured in the same run. Writes bench/results.json (a list of
// { name, value, unit }) and the tables in docs/benchmarks.md between the
// `<!-- bench:NAME -->` markers. Timings are never asserted in tests.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { type BenchResult, markdownTable, recordResults } from "./bench-results.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = join(root, "bench/tmp");
const { values: opts } = parseArgs({
  options: {
    only: { type: "string" },
    coverage: { type: "boolean", default: false },
  },
});

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  console.log(`▶ ${[cmd, ...args].join(" ")}`);
  const r = spawnSync(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? "");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}`);
  }
  return r.stdout;
}

/** JSON lines `{ name, value, unit }` in a program's output; other lines are ignored. */
function parseResults(output: string): BenchResult[] {
  const out: BenchResult[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const r = JSON.parse(line) as BenchResult;
      if (typeof r.name === "string" && typeof r.value === "number") out.push(r);
    } catch {
      // not a result line
    }
  }
  return out;
}

const hardhat = join(root, "node_modules/.bin/hardhat");
const node = join(root, "node_modules/.bin/node");

/** Provider node: ingest, gateway, proof building, RSS (provider-node/bench), beside baselines. */
function providerBench(): BenchResult[] {
  const dir = join(root, "provider-node/bench");
  if (!existsSync(dir)) return [];
  const results: BenchResult[] = [];
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
    .sort())
    results.push(...parseResults(run(node, [join(dir, f)])));
  return results;
}

/** Gas of named operations, from receipts in the gas test files, plus Hardhat's --gas-stats table. */
function gasBench(): { results: BenchResult[]; table: string } {
  const scenarios = join(tmp, "gas-scenarios.jsonl");
  rmSync(scenarios, { force: true });
  const gasFiles = readdirSync(join(root, "test/contracts"))
    .filter((f) => f.endsWith(".gas.ts"))
    .map((f) => `test/contracts/${f}`);
  const output = run(hardhat, ["test", "nodejs", "--gas-stats", ...gasFiles], {
    COOP_GAS_REPORT: scenarios,
  });
  const results = existsSync(scenarios) ? parseResults(readFileSync(scenarios, "utf8")) : [];
  // Hardhat prints its gas-stats tables after the test summary; the box opens a line above the title.
  const title = output.search(/^.*Gas Usage|^.*gas usage/im);
  const table =
    title >= 0 ? output.slice(output.lastIndexOf("\n", title - 2) + 1).trim() : output.trim();
  return { results, table };
}

function sdkBench(): BenchResult[] {
  const dir = join(root, "sdk/bench");
  if (!existsSync(dir)) return [];
  const results: BenchResult[] = [];
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
    .sort()) {
    results.push(...parseResults(run(node, [join(dir, f)])));
  }
  return results;
}

/**
 * The client (test/client/bench.ts): put and get of 256 MiB against a real chain and four
 * provider processes beside Helia, and the peak RSS of `coop put` / `coop get` on 4 GiB.
 */
function clientBench(): BenchResult[] {
  return parseResults(run(node, [join(root, "test/client/bench.ts")]));
}

/**
 * Load and soak (test/system/load.bench.ts): 200 puts of 1 KiB–64 MiB from 8 clients at once
 * and every file read back, then 50 uploads with a provider killed (SIGKILL) and restarted;
 * writes docs/load.svg. COOP_LOAD_PUTS / COOP_SOAK_TRIALS scale it down.
 */
function loadBench(): BenchResult[] {
  return parseResults(run(node, [join(root, "test/system/load.bench.ts")]));
}

/**
 * The web app (web/bench/web.bench.ts): the sdk's encodeFile in headless Chromium with Web
 * Workers beside Node in the same run, first-load JS per page of the built dApp, and a 16 MiB
 * file through the Storage page until every shard is accepted.
 */
function webBench(): BenchResult[] {
  return parseResults(run(node, [join(root, "web/bench/web.bench.ts")]));
}

/**
 * Line coverage of the production contracts (test helpers excluded), from Hardhat's lcov.
 * Hardhat 3 instruments lines and statements only: it reports no branch coverage.
 */
function coverageBench(): { results: BenchResult[]; table: string } {
  run(hardhat, ["test", "--coverage"]);
  const lcov = readFileSync(join(root, "coverage/lcov.info"), "utf8");
  const rows: string[] = [];
  let hit = 0;
  let found = 0;
  for (const record of lcov.split("end_of_record")) {
    const file = /^SF:(.+)$/m.exec(record)?.[1];
    const lf = Number(/^LF:(\d+)$/m.exec(record)?.[1] ?? 0);
    const lh = Number(/^LH:(\d+)$/m.exec(record)?.[1] ?? 0);
    if (!file || file.startsWith("contracts/test/") || lf === 0) continue;
    hit += lh;
    found += lf;
    rows.push(`| ${file} | ${lh} / ${lf} | ${((100 * lh) / lf).toFixed(2)} % |`);
  }
  const total = found ? (100 * hit) / found : 0;
  rows.push(`| **all production contracts** | ${hit} / ${found} | **${total.toFixed(2)} %** |`);
  return {
    results: [
      {
        name: "contracts: line coverage (production contracts)",
        value: Number(total.toFixed(2)),
        unit: "%",
      },
    ],
    table: ["| contract | lines hit | line coverage |", "| --- | ---: | ---: |", ...rows].join(
      "\n",
    ),
  };
}

mkdirSync(tmp, { recursive: true });
const sections: Record<string, string> = {};
const fresh: BenchResult[] = [];

if (!opts.only || opts.only === "gas") {
  const { results, table } = gasBench();
  fresh.push(...results);
  sections.gas = markdownTable(results);
  sections["gas-stats"] = "```\n" + table + "\n```";
}
if (!opts.only || opts.only === "sdk") {
  const results = sdkBench();
  fresh.push(...results);
  sections.sdk = markdownTable(results);
}
if (!opts.only || opts.only === "provider") {
  const results = providerBench();
  fresh.push(...results);
  sections.provider = markdownTable(results);
}
if (!opts.only || opts.only === "client") {
  const results = clientBench();
  fresh.push(...results);
  sections.client = markdownTable(results);
}
if (!opts.only || opts.only === "load") {
  const results = loadBench();
  fresh.push(...results);
  sections.load = markdownTable(results);
}
if (!opts.only || opts.only === "web") {
  const results = webBench();
  fresh.push(...results);
  sections.web = markdownTable(results);
}
if (opts.coverage || opts.only === "coverage") {
  const { results, table } = coverageBench();
  fresh.push(...results);
  sections.coverage = table;
}

recordResults(fresh, sections);
