// Runs before `npm start` and `npm test` so that a fresh clone needs no
// separate install step. Plain JS on purpose: it runs under the machine's own
// Node (20 on a fresh machine), before the project's Node 24 is installed.
//
// Two phases, because npm on Node 20 skips optional packages whose engines
// want Node >= 22 (Hardhat's native EDR binding among them):
//   1. no project Node yet → `npm ci` with whatever Node runs us;
//   2. lockfile newer than the install, or a native binding missing →
//      `npm install` again, run by the project's own Node.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nm = join(root, "node_modules");
const projectNode = join(nm, ".bin", "node");
const npmCli = process.env.npm_execpath ?? findNpmCli();

// Run directly (`node scripts/ensure-deps.mjs`) npm sets no npm_execpath: find the npm
// that sits beside the running node, or the one on PATH, so phase 2 can still run it
// under the project's Node.
function findNpmCli() {
  const besideNode = join(
    dirname(process.execPath),
    "..",
    "lib",
    "node_modules",
    "npm",
    "bin",
    "npm-cli.js",
  );
  if (existsSync(besideNode)) return besideNode;
  const which = spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" });
  const onPath = which.status === 0 ? which.stdout.trim() : "";
  return onPath ? realpathSync(onPath) : undefined;
}

function run(cmd, args) {
  console.log(`[ensure-deps] ${[cmd, ...args].join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`[ensure-deps] install failed (exit ${r.status}); see the npm output above.`);
    process.exit(r.status ?? 1);
  }
}

function npm(args) {
  if (npmCli && existsSync(projectNode)) run(projectNode, [npmCli, ...args]);
  else run("npm", args);
}

function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

function edrBindingPresent() {
  const dir = join(nm, "@nomicfoundation");
  if (!existsSync(dir)) return false;
  const prefix = `edr-${process.platform}-${process.arch}`;
  return readdirSync(dir).some((d) => d.startsWith(prefix));
}

const flags = ["--no-audit", "--no-fund"];
if (!existsSync(projectNode)) npm(["ci", ...flags]);
const stale = mtime(join(root, "package-lock.json")) > mtime(join(nm, ".package-lock.json"));
if (stale || !edrBindingPresent()) npm(["install", ...flags]);
