// `npm run mutate`: mutation testing, not part of `npm test` (it runs the suites once per mutant).
// Contracts: each hand-picked mutant of scripts/mutants/contracts.ts is applied in a scratch
// worktree of HEAD (bench/tmp/mutate; the working tree is never touched) and the contract tests
// run against it; a failing run kills the mutant. SDK: StrykerJS over the sdk's crypto, erasure,
// merkle, cid, keys, manifest and pipeline folders (sdk/stryker.config.json; incremental, so a
// rerun tests only what changed). What each run learnt is kept in bench/mutation/ (committed: a
// whole run takes more hours than a session has, and every clone goes on from it). Scores and
// every survivor go to bench/results.json and docs/benchmarks.md ("mutation score, contracts" /
// "…, sdk").
//   --only contracts|sdk   one of the two
//   --mutant ID            one contract mutant (and print the test output)
//   --record-partial       record what an unfinished run tested so far, without running more
//   --minutes N            sdk: stop Stryker after N minutes as Ctrl-C does (it keeps what it
//                          tested) and record what was tested so far; the next run goes on
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";

import { recordResults } from "./bench-results.ts";
import { MUTANTS, type Mutant } from "./mutants/contracts.ts";
import { EQUIVALENT } from "./mutants/sdk.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(root, "bench/tmp/mutate");
const { values: opts } = parseArgs({
  options: {
    mutant: { type: "string" },
    only: { type: "string" },
    "record-partial": { type: "boolean", default: false },
    minutes: { type: "string" },
  },
});

/** Runs a command; past `timeoutMs` it is sent SIGINT (Stryker then saves its progress). */
function sh(cmd: string, args: string[], cwd: string, quiet = true, timeoutMs = 3600_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    stdio: quiet ? "ignore" : "inherit",
    env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH ?? ""}` },
    timeout: timeoutMs,
    killSignal: "SIGINT",
  });
  return r.status ?? 1;
}

/** A scratch copy of HEAD sharing the installed packages. */
function prepareWorktree(): void {
  if (existsSync(work)) sh("git", ["worktree", "remove", "--force", work], root);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dirname(work), { recursive: true });
  if (sh("git", ["worktree", "add", "--detach", work, "HEAD"], root) !== 0) {
    throw new Error("git worktree add failed");
  }
  symlinkSync(join(root, "node_modules"), join(work, "node_modules"));
}

/** Contract test files, those most likely to kill a mutant first. */
const FIRST = ["StorageMarket.attacks.ts", "Boundaries.ts", "StorageMarket.faults.ts"];
function testFiles(): string[] {
  const all = readdirSync(join(work, "test/contracts")).filter((f) => f.endsWith(".ts"));
  const rank = (f: string) => (FIRST.includes(f) ? FIRST.indexOf(f) : FIRST.length);
  return all.sort((a, b) => rank(a) - rank(b)).map((f) => `test/contracts/${f}`);
}

/** Whether every contract test passes: file by file, stopping at the first failure. */
function contractTestsPass(quiet: boolean): boolean {
  for (const file of testFiles()) {
    if (sh("hardhat", ["test", "nodejs", file], work, quiet) !== 0) return false;
  }
  return sh("hardhat", ["test", "solidity"], work, quiet) === 0;
}

/** Applies `m` in the worktree and returns its undo; with `checkOnly`, only checks it applies. */
function applyMutant(m: Mutant, dir = work, checkOnly = false): () => void {
  const path = join(dir, m.file);
  const original = readFileSync(path, "utf8");
  const count = original.split(m.from).length - 1;
  if (count !== 1)
    throw new Error(`mutant ${m.id}: expected its text once in ${m.file}, found ${count}`);
  if (checkOnly) return () => undefined;
  writeFileSync(path, original.replace(m.from, m.to));
  return () => writeFileSync(path, original);
}

/** Each contract mutant's outcome, kept as it is known: a run that stops goes on where it left. */
const CONTRACT_RESULTS = join(root, "bench/mutation/contracts.json");
interface ContractResults {
  /** The contracts, their tests and the mutant list the outcomes hold for (git tree ids). */
  key: string;
  killed: Record<string, boolean>;
}

function contractResults(): ContractResults {
  const key = spawnSync(
    "git",
    ["rev-parse", "HEAD:contracts", "HEAD:test/contracts", "HEAD:scripts/mutants/contracts.ts"],
    { cwd: root, encoding: "utf8" },
  ).stdout.trim();
  if (existsSync(CONTRACT_RESULTS)) {
    const saved = JSON.parse(readFileSync(CONTRACT_RESULTS, "utf8")) as ContractResults;
    if (saved.key === key) return saved;
  }
  return { key, killed: {} };
}

function mutateContracts(): void {
  const mutants = opts.mutant ? MUTANTS.filter((m) => m.id === opts.mutant) : MUTANTS;
  if (mutants.length === 0) throw new Error(`no mutant ${opts.mutant}`);
  const results = contractResults();
  const untested = opts.mutant
    ? mutants
    : opts["record-partial"]
      ? []
      : mutants.filter((m) => !(m.id in results.killed));
  if (untested.length < mutants.length)
    console.log(
      `${mutants.length - untested.length} mutants known from an earlier run of these contracts`,
    );
  // Every mutant's text must be found before the hours of tests (a stale one stopped a run).
  for (const m of untested) applyMutant(m, root, true);
  if (untested.length > 0) {
    prepareWorktree();
    if (sh("hardhat", ["build", "--quiet"], work) !== 0 || !contractTestsPass(true)) {
      throw new Error("the contract tests fail without any mutant: fix them first");
    }
  }
  for (const m of untested) {
    const restore = applyMutant(m);
    const started = Date.now();
    const killed = !contractTestsPass(!opts.mutant);
    restore();
    results.killed[m.id] = killed;
    if (!opts.mutant) writeFileSync(CONTRACT_RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    const secs = Math.round((Date.now() - started) / 1000);
    const done = mutants.filter((x) => x.id in results.killed).length;
    console.log(
      `[${done}/${mutants.length}] ${killed ? "killed  " : "SURVIVED"} ${m.id} (${secs} s)`,
    );
  }
  if (untested.length > 0) sh("git", ["worktree", "remove", "--force", work], root);

  if (!opts.mutant) {
    const tested = mutants.filter((m) => m.id in results.killed);
    const survivors = tested.filter((m) => !results.killed[m.id]);
    const score = (100 * (tested.length - survivors.length)) / tested.length;
    const scope =
      tested.length < mutants.length
        ? ` (a run not finished: ${tested.length} of the ${mutants.length} mutants tested so far)`
        : "";
    const rows = survivors.map(
      (m) =>
        `| \`${m.id}\` | ${m.file} | ${m.why} | ${m.equivalent ?? "**not equivalent: add a test**"} |`,
    );
    const table = [
      `${tested.length - survivors.length} of ${tested.length} mutants killed (${score.toFixed(1)}%)${scope}.`,
      "",
      ...(rows.length
        ? [
            "| surviving mutant | file | what the bug would do | why no test can see it |",
            "| --- | --- | --- | --- |",
            ...rows,
          ]
        : []),
    ].join("\n");
    recordResults([{ name: "mutation score, contracts", value: score, unit: "%" }], {
      "mutation-contracts": table,
    });
  }
}

interface StrykerMutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  /** Why an ignored mutant is (a `Stryker disable` comment's reason, or static with ignoreStatic). */
  statusReason?: string;
  /** Also run while its module loads (Stryker's "static"). */
  static?: boolean;
  location: {
    start: { line: number; column: number };
    end: { line: number; column: number };
  };
}
interface StrykerReport {
  files: Record<string, { mutants: StrykerMutant[] }>;
}

/**
 * A Stryker pass and its incremental file, kept between clones: the working copy in bench/tmp is
 * what Stryker reads and writes, the committed bench/mutation copy (gzipped: the file holds every
 * source and test file's text) is brought in when newer and written back after each run.
 */
interface Pass {
  config: string;
  incremental: string;
  kept: string;
}
/** Every mutant, each against the tests that reach it while they run (ignoreStatic). */
const MAIN: Pass = {
  config: "sdk/stryker.config.json",
  incremental: join(root, "bench/tmp/stryker-incremental.json"),
  kept: join(root, "bench/mutation/stryker-incremental.json.gz"),
};
/**
 * The main pass's static survivors again, each against every test. A mutant that also runs while
 * its module loads (a constant, a table) is, with ignoreStatic, tested only against the tests
 * that reach it while they run, often just one that imports its module afresh: many such
 * mutants that other tests would kill survive. Running every test for each of the 1,988 would
 * take most of a day; for the few that survive it takes minutes.
 */
const STATIC: Pass = {
  config: "bench/tmp/stryker-static.config.json",
  incremental: join(root, "bench/tmp/stryker-static-incremental.json"),
  kept: join(root, "bench/mutation/stryker-static-incremental.json.gz"),
};
const mtime = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : -1);

function restoreIncremental(pass: Pass): void {
  if (mtime(pass.kept) <= mtime(pass.incremental)) return;
  mkdirSync(dirname(pass.incremental), { recursive: true });
  writeFileSync(pass.incremental, gunzipSync(readFileSync(pass.kept)));
}

function keepIncremental(pass: Pass): void {
  if (mtime(pass.incremental) <= mtime(pass.kept)) return;
  mkdirSync(dirname(pass.kept), { recursive: true });
  writeFileSync(pass.kept, gzipSync(readFileSync(pass.incremental), { level: 9 }));
}

/**
 * Runs a pass until `deadline` (ms since the epoch, or Infinity). Returns false when stopped
 * there (Stryker, sent SIGINT, keeps what it tested: the next run goes on); throws when it failed.
 */
function runPass(pass: Pass, deadline: number): boolean {
  const left = deadline - Date.now();
  if (left <= 0) return false;
  const status = sh("stryker", ["run", pass.config], root, false, Number.isFinite(left) ? left : 0);
  keepIncremental(pass);
  if (status === 0) return true;
  if (Date.now() < deadline)
    throw new Error(
      "stryker run failed or was interrupted: run `npm run mutate -- --only sdk` again to go on, or `-- --only sdk --record-partial` to record what was tested so far",
    );
  return false;
}

const readReport = (file: string) => JSON.parse(readFileSync(file, "utf8")) as StrykerReport;
const mutantKey = (file: string, m: StrykerMutant) =>
  `${file}:${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`;

/** The entry of scripts/mutants/sdk.ts explaining `m` as equivalent, if any. */
function equivalentOf(file: string, m: StrykerMutant, lines: string[]) {
  const { start, end } = m.location;
  const line = lines[start.line - 1] ?? "";
  const span = start.line === end.line ? line.slice(start.column - 1, end.column - 1) : undefined;
  return EQUIVALENT.find(
    (e) =>
      e.file === file &&
      e.mutator === m.mutatorName &&
      e.replacement === m.replacement &&
      line.includes(e.code) &&
      (e.span === undefined || e.span === span),
  );
}

const sourceLines = (file: string) =>
  existsSync(join(root, file)) ? readFileSync(join(root, file), "utf8").split("\n") : [];

/** Writes the static pass's config: the main one over just the static survivors, every test each. */
function staticPassConfig(main: StrykerReport): number {
  const ranges: string[] = [];
  for (const [file, { mutants }] of Object.entries(main.files)) {
    for (const m of mutants) {
      // Those explained as equivalent too: a kill there shows the explanation wrong.
      if (!m.static || !["Survived", "Ignored"].includes(m.status)) continue;
      // Stryker's ranges count columns from 0, its reports from 1.
      const { start, end } = m.location;
      ranges.push(`${file}:${start.line}:${start.column - 1}-${end.line}:${end.column}`);
    }
  }
  const base = JSON.parse(readFileSync(join(root, MAIN.config), "utf8")) as Record<string, unknown>;
  delete base.$schema;
  const config = {
    ...base,
    mutate: ranges,
    ignoreStatic: false,
    incrementalFile: STATIC.incremental,
    reporters: ["progress"],
  };
  writeFileSync(join(root, STATIC.config), JSON.stringify(config, null, 2));
  return ranges.length;
}

function mutateSdk(): void {
  for (const pass of [MAIN, STATIC]) restoreIncremental(pass);
  const minutes = opts.minutes === undefined ? 0 : Number(opts.minutes);
  if (!(minutes >= 0)) throw new Error(`--minutes ${opts.minutes}: a number of minutes`);
  const deadline = minutes ? Date.now() + minutes * 60_000 : Infinity;
  const record = opts["record-partial"];
  // The static survivors an earlier run left, against every test; then the main pass (a whole
  // one takes hours on two cores: interrupted, by Ctrl-C or --minutes, Stryker keeps what it
  // tested in its incremental file, and the next run tests only the rest); then the static
  // survivors it found.
  const staticPass = (report: StrykerReport) => {
    if (!record && staticPassConfig(report) > 0) runPass(STATIC, deadline);
  };
  if (existsSync(MAIN.incremental)) staticPass(readReport(MAIN.incremental));
  const complete = !record && runPass(MAIN, deadline);
  // After a whole run the JSON report; after an interrupted one what its incremental file holds.
  const file = complete ? STRYKER_REPORT : MAIN.incremental;
  if (!existsSync(file)) throw new Error(`no Stryker results at ${file}: run npm run mutate`);
  const main = readReport(file);
  staticPass(main);
  for (const pass of [MAIN, STATIC]) keepIncremental(pass); // also after a Ctrl-C'd run
  // Whatever the static pass has found so far, each mutant as of the tests when it ran.
  const everyTest = new Map<string, string>();
  if (existsSync(STATIC.incremental))
    for (const [f, { mutants }] of Object.entries(readReport(STATIC.incremental).files))
      for (const m of mutants) everyTest.set(mutantKey(f, m), m.status);
  recordSdkScore(main, complete, everyTest);
}

const STRYKER_REPORT = join(root, "bench/tmp/stryker-report.json");
const SURVIVORS_DOC = join(root, "docs/mutation-sdk.md");

/**
 * The sdk score into bench/results.json and docs/benchmarks.md, every survivor into
 * docs/mutation-sdk.md. `everyTest`: the static pass's outcomes, which stand for the main pass's.
 */
function recordSdkScore(
  report: StrykerReport,
  complete: boolean,
  everyTest: Map<string, string>,
): void {
  // An unfinished run has tested only some mutants; those no test reaches are known from the
  // start, so they are counted apart there (else a folder not reached yet scores 0%).
  const tested = complete
    ? ["Killed", "Timeout", "Survived", "NoCoverage"]
    : ["Killed", "Timeout", "Survived"];
  const folders = new Map<string, { tested: number; killed: number; uncovered: number }>();
  const rows: string[] = [];
  let killed = 0;
  let total = 0;
  let explained = 0;
  let ignored = 0;
  let staticKilled = 0;
  let staticLeft = 0;
  const wrong: string[] = []; // killed, yet explained as equivalent in scripts/mutants/sdk.ts
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const lines = sourceLines(file);
    const folder = file.replace(/^sdk\/src\//, "").split("/")[0]!;
    const f = folders.get(folder) ?? { tested: 0, killed: 0, uncovered: 0 };
    folders.set(folder, f);
    for (const main of mutants) {
      // A static survivor (or one ignored: reached only while its module loads) run against
      // every test counts as that run found it.
      const again = main.static ? everyTest.get(mutantKey(file, main)) : undefined;
      const m =
        again && ["Survived", "Ignored"].includes(main.status) ? { ...main, status: again } : main;
      if (m !== main && (m.status === "Killed" || m.status === "Timeout")) {
        staticKilled++;
        if (equivalentOf(file, m, lines)) wrong.push(`${file}:${m.location.start.line}`);
      }
      if (m.status === "NoCoverage") f.uncovered++;
      if (m.status === "Ignored") ignored++;
      else if (tested.includes(m.status)) {
        total++;
        f.tested++;
      } else continue;
      if (m.status === "Killed" || m.status === "Timeout") {
        killed++;
        f.killed++;
        continue;
      }
      const equivalent = equivalentOf(file, m, lines);
      if (equivalent) explained++;
      const what = (m.replacement ?? "").replace(/\s+/g, " ").replace(/\|/g, "\\|").slice(0, 60);
      let status = m.status;
      if (equivalent) status = `equivalent: ${equivalent.why}`;
      else if (m.status === "Ignored") status = `not tested: ${m.statusReason ?? "ignored"}`;
      else if (m.static && m === main) {
        staticLeft++;
        status = "Survived the tests that reach it; not yet run against every test";
      }
      rows.push(
        `| ${file}:${m.location.start.line} | ${m.mutatorName} | \`${what}\` | ${status} |`,
      );
    }
  }
  // Rounded down: 99.97% is not 100%.
  const pct = (a: number, b: number) => `${(Math.floor((1000 * a) / b) / 10).toFixed(1)}%`;
  const scope = complete
    ? ""
    : " (an interrupted run: the mutants tested so far, each as of the tests when it ran; a mutant whose tests changed since is tested again by the next run)";
  const summary = [
    `${killed} of ${total} mutants killed (${pct(killed, total)}; ${pct(killed, total - explained)} of those not explained as equivalent)${scope}; the ${total - killed} survivors are listed in [mutation-sdk.md](mutation-sdk.md), ${explained} of them explained as equivalent (scripts/mutants/sdk.ts)${staticLeft ? `, ${staticLeft} not yet run against every test` : ""}. ${staticKilled} of the killed ones survived the tests that reach them while they run and were killed running every test (static mutants). Not tested (ignored), listed there with the reason: ${ignored}.${wrong.length ? ` Killed although explained as equivalent (the explanation is wrong): ${wrong.join(", ")}.` : ""}`,
    "",
    "| folder | mutants tested | killed | score | reached by no test |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...[...folders]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([name, f]) =>
          `| ${name} | ${f.tested} | ${f.killed} | ${f.tested ? pct(f.killed, f.tested) : "–"} | ${f.uncovered} |`,
      ),
  ].join("\n");
  writeFileSync(
    SURVIVORS_DOC,
    [
      "# SDK mutants no test kills",
      "",
      `Written by \`npm run mutate\` (StrykerJS over the sdk's crypto, erasure, merkle, cid, keys, manifest and pipeline folders)${scope}: ${killed} of ${total} killed. Each row is a change to the code that every sdk test still passes: a test to write, or an equivalent mutant, explained in scripts/mutants/sdk.ts (and the ${ignored} marked "not tested", with the reason). The score is in [benchmarks.md](benchmarks.md#mutation-testing).`,
      "",
      "| surviving mutant | mutator | replacement | status |",
      "| --- | --- | --- | --- |",
      ...rows,
      "",
    ].join("\n"),
  );
  spawnSync(join(root, "node_modules/.bin/prettier"), ["--write", SURVIVORS_DOC], {
    stdio: "ignore",
  });
  recordResults([{ name: "mutation score, sdk", value: (100 * killed) / total, unit: "%" }], {
    "mutation-sdk": summary,
  });
}

if (opts.only !== "sdk") mutateContracts();
if (opts.only !== "contracts" && !opts.mutant) mutateSdk();
