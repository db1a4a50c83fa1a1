// Where benchmark figures go: bench/results.json (a list of { name, value, unit }; a partial run
// keeps the other figures of the previous one) and the tables of docs/benchmarks.md between
// `<!-- bench:NAME -->` markers. Shared by `npm run bench` and `npm run mutate`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function markdownTable(results: BenchResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.value.toLocaleString("en-US", { maximumFractionDigits: 2 })} | ${r.unit} |`,
  );
  return ["| what | value | unit |", "| --- | ---: | --- |", ...rows].join("\n");
}

function replaceSection(doc: string, name: string, body: string): string {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const i = doc.indexOf(open);
  const j = doc.indexOf(close);
  if (i < 0 || j < 0) return `${doc.trimEnd()}\n\n${open}\n${body}\n${close}\n`;
  return `${doc.slice(0, i + open.length)}\n${body}\n${doc.slice(j)}`;
}

/** Merges `fresh` into bench/results.json and writes `sections` into docs/benchmarks.md. */
export function recordResults(fresh: BenchResult[], sections: Record<string, string>): void {
  const resultsFile = join(root, "bench/results.json");
  const previous: BenchResult[] = existsSync(resultsFile)
    ? JSON.parse(readFileSync(resultsFile, "utf8"))
    : [];
  const freshNames = new Set(fresh.map((r) => r.name));
  const all = [...previous.filter((r) => !freshNames.has(r.name)), ...fresh];
  writeFileSync(resultsFile, JSON.stringify(all, null, 2) + "\n");
  const docPath = join(root, "docs/benchmarks.md");
  let doc = readFileSync(docPath, "utf8");
  for (const [name, body] of Object.entries(sections)) doc = replaceSection(doc, name, body);
  writeFileSync(docPath, doc);
  spawnSync(join(root, "node_modules/.bin/prettier"), ["--write", docPath], { stdio: "ignore" });
  console.log(`\n${fresh.length} figures → bench/results.json and docs/benchmarks.md`);
}
