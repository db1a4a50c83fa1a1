// The load and soak benchmark (`node scripts/bench.ts --only load`; not part of `npm test`:
// vitest picks up *.test.ts only). Prints JSON lines { name, value, unit } for scripts/bench.ts,
// writes the plot docs/load.svg, and exits non-zero, naming what failed, when a load operation
// failed, an accepted shard did not verify or a stored file was lost. One local chain and four
// real provider processes (test/system/cluster.ts), all on this machine; k = 2, n = 4.
//
// 1. Load: COOP_LOAD_PUTS puts (default 200) of the size classes 1 KiB, 64 KiB, 1 MiB, 8 MiB
//    and 64 MiB in the proportions COOP_LOAD_MIX (default 80/60/40/15/5), shuffled, from
//    COOP_LOAD_CLIENTS concurrent clients (default 8: each its own member account — faucet and
//    joinCoop —, its own CoopContracts and key session, shards staged in a folder as the CLI
//    does), then every file read back with getFile (as many at once) and compared by SHA-256.
//    Reported: puts/s and MB/s of plaintext, p50 and p99 latency per size class for put and get
//    (nearest rank: with 5 puts in a class, p99 is the slowest), errors, and every provider's
//    VmRSS sampled each second (/proc/<pid>/status): peak and final.
// 2. Soak (crash safety): COOP_SOAK_TRIALS trials (default 50). Each puts a 1–8 MiB file and
//    kills (SIGKILL) one provider at a random moment of its shard's upload — drawn uniformly
//    between its first byte sent and the time such an upload took to be accepted so far, so
//    some kills land while bytes flow, some during the provider's import or its acceptShard,
//    some just after —, restarts it on its data folder (co.restart) and lets the put retry (a
//    put that still fails is resumed from its journal with resumePut). After each trial:
//    - half-written shards accepted: every shard record in state "accepted" in a provider's
//      data folder must match an Active shard of that provider on-chain, and every Active
//      shard of the trial's deal must come whole from its holder's gateway (each block checked
//      against its CID by fetchShard) with the segment Merkle root the deal committed to;
//    - files lost: the file must read back bit-exact.
//    At the end every shard of every deal (load and soak) is verified the same way and every
//    file stored in the run (load and soak) is read back again.
// 3. docs/load.svg: put and get latency by completion time, MB/s per 10 s window, provider RSS.
//
// Epochs of 30 s, an acceptance window of 1,000 epochs and 200 missed epochs before a provider
// fails: a kill never costs a deal its provider. Scrubbing is off (its reads would load the
// providers at random moments). COOP_LOAD_SEED (default 1) seeds sizes, order and kill moments.
// Quick run: COOP_LOAD_PUTS=20 COOP_LOAD_MIX=8/6/4/1/1 COOP_SOAK_TRIALS=3; COOP_LOAD_PLOT=<file>
// writes the plot elsewhere than docs/load.svg.
import { randomFillSync } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { SegmentTreeBuilder } from "@coop-cloud/sdk";
import {
  type CoopContracts,
  type KeySession,
  type PutProgress,
  type PutResult,
  createKeySession,
  faucet,
  fetchShard,
  joinCoop,
  putFile,
  resumePut,
} from "@coop-cloud/sdk/client";
import { createFolderStaging } from "@coop-cloud/sdk/node/staging.ts";
import { type Address, bytesToHex, isAddressEqual } from "viem";

import { repoRoot } from "../../provider-node/test/fixtures/chain.ts";
import { mulberry32 as prng } from "../../sdk/bench/_util.ts";
import { type Cluster, readBack, sha256, startCluster } from "./cluster.ts";
import { type Series, renderPlot } from "./load-plot.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const MB = 1e6;
const env = process.env;
const PUTS = Number(env.COOP_LOAD_PUTS ?? 200);
const CLIENTS = Number(env.COOP_LOAD_CLIENTS ?? 8);
const TRIALS = Number(env.COOP_SOAK_TRIALS ?? 50);
const SEED = Number(env.COOP_LOAD_SEED ?? 1);
const MIX = (env.COOP_LOAD_MIX ?? "80/60/40/15/5").split("/").map(Number);
const CLASSES = [
  { label: "1 KiB", size: KiB },
  { label: "64 KiB", size: 64 * KiB },
  { label: "1 MiB", size: MiB },
  { label: "8 MiB", size: 8 * MiB },
  { label: "64 MiB", size: 64 * MiB },
];
const COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"];
const K = 2;
const N = 4;
const EPOCH = 30;
const DURATION = 1000;
const PROVIDER_KEYS = [1, 2, 3, 4];
const FIRST_CLIENT_KEY = 5;
const OP_TIMEOUT = 15 * 60_000;
const work = join(repoRoot, "bench/tmp/load");
const svgPath = env.COOP_LOAD_PLOT ?? join(repoRoot, "docs/load.svg");

const emit = (name: string, value: number, unit: string) =>
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
const log = (text: string) => console.error(`[load bench] ${text}`);
const loadAvg = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

if (MIX.length !== CLASSES.length || MIX.some((w) => !(w >= 0)))
  throw new Error(`COOP_LOAD_MIX must be ${CLASSES.length} weights a/b/c/d/e`);
if (CLIENTS < 1 || FIRST_CLIENT_KEY + CLIENTS > 20)
  throw new Error(`COOP_LOAD_CLIENTS must be 1..${20 - FIRST_CLIENT_KEY} (Hardhat keys)`);

const rand = prng(SEED);

/** Nearest-rank percentile of `values` (not empty). */
function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Class counts for `total` puts in the proportions `weights` (largest remainder). */
function classCounts(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let j = 0; j < total - counts.reduce((a, b) => a + b, 0); j++) counts[order[j]![1]]!++;
  return counts;
}

/** Runs `jobs` with at most `limit` at once. */
async function pool<T>(jobs: T[], limit: number, run: (job: T, worker: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async (_, w) => {
      while (next < jobs.length) await run(jobs[next++]!, w);
    }),
  );
}

function randomData(size: number): Uint8Array {
  return randomFillSync(new Uint8Array(size));
}

/** Bytes of every file under `dir`. */
function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

interface Client {
  c: CoopContracts;
  keys: KeySession;
  address: Address;
}

/** A file the run stored: what must read back at the end. */
interface Stored {
  what: string;
  client: number;
  dealId: bigint;
  sha: string;
  shards: PutResult["shards"];
}

interface Timed {
  cls: number;
  bytes: number;
  start: number;
  end: number;
}

const t0 = performance.now();
const now = () => (performance.now() - t0) / 1000; // seconds since the bench started

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const loadBefore = loadAvg();
log(`load average before: ${loadBefore}`);
emit("load: machine load average (1 min) as the bench started (2 cores)", loadBefore, "");

const co: Cluster = await startCluster({
  epochLength: EPOCH,
  market: { acceptanceWindow: 1000, maxMissedEpochs: 200, missedEpochSlash: 1000n },
  providerKeys: PROVIDER_KEYS,
  providerEnv: () => ({ COOP_PROVIDER_SCRUB_INTERVAL: "86400", COOP_PROVIDER_MIN_FREE_BYTES: "0" }),
});

// Provider processes: RSS every second, and any exit the bench did not cause.
const rss: { t: number; i: number; bytes: number }[] = [];
const killing = new Set<number>(); // pids the bench is killing
const unexpectedExits: string[] = [];
let stopping = false;
function watch(i: number) {
  const proc = co.nodes[i]!.proc;
  proc.once("exit", (code, signal) => {
    if (!stopping && !killing.has(proc.pid!))
      unexpectedExits.push(`provider ${i} (pid ${proc.pid}) exited: code ${code}, ${signal}`);
  });
}
co.nodes.forEach((_, i) => watch(i));
const sampler = setInterval(() => {
  const t = now();
  co.nodes.forEach((n, i) => {
    if (!n || n.proc.exitCode !== null || n.proc.signalCode !== null) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${n.proc.pid}/status`, "utf8"));
      if (m) rss.push({ t, i, bytes: Number(m[1]) * 1024 });
    } catch {
      // exited between the check and the read
    }
  });
}, 1000);

const failures: string[] = []; // load errors: each named
const halfWritten: string[] = [];
const lost: string[] = [];
const stored: Stored[] = [];

try {
  // Eight member accounts, each with its own connection and key session.
  const clients: Client[] = [];
  for (let w = 0; w < CLIENTS; w++) {
    const c = await co.connect(FIRST_CLIENT_KEY + w);
    await faucet(c);
    await joinCoop(c);
    const keys = createKeySession(c);
    await keys.kek(); // the one signature, before any timing
    clients.push({ c, keys, address: c.account("the load bench") });
  }
  const reader = clients[0]!.c;

  // ───────────── 1. load ─────────────
  const counts = classCounts(PUTS, MIX);
  const jobs: { id: number; cls: number }[] = [];
  counts.forEach((n, cls) => {
    for (let j = 0; j < n; j++) jobs.push({ id: jobs.length, cls });
  });
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  log(
    `load: ${PUTS} puts (${counts.map((n, i) => `${n} × ${CLASSES[i]!.label}`).join(", ")}) from ${CLIENTS} clients, k = ${K}, n = ${N}`,
  );
  const puts: (Timed & { stored?: Stored })[] = [];
  const loadStart = now();
  let done = 0;
  await pool(jobs, CLIENTS, async (job, w) => {
    const { c, keys } = clients[w]!;
    const size = CLASSES[job.cls]!.size;
    const data = randomData(size);
    const sha = sha256(data);
    const what = `load put #${job.id} (${CLASSES[job.cls]!.label}, client ${w})`;
    const start = now();
    try {
      const r = await putFile(c, data, {
        name: `load-${job.id}.bin`,
        size,
        k: K,
        n: N,
        durationEpochs: DURATION,
        keys,
        staging: createFolderStaging(join(work, `put-${job.id}`)),
        signal: AbortSignal.timeout(OP_TIMEOUT),
      });
      const s: Stored = { what, client: w, dealId: r.dealId, sha, shards: r.shards };
      stored.push(s);
      puts.push({ cls: job.cls, bytes: size, start, end: now(), stored: s });
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
    }
    if (++done % 20 === 0) log(`load: ${done}/${PUTS} puts (${failures.length} failed)`);
  });
  const loadEnd = now();
  const putSecs = loadEnd - loadStart;
  const putBytes = puts.reduce((a, p) => a + p.bytes, 0);
  log(`load: puts done in ${putSecs.toFixed(1)} s; reading every file back`);

  const gets: Timed[] = [];
  const getStart = now();
  await pool(
    puts.filter((p) => p.stored),
    CLIENTS,
    async (p) => {
      const s = p.stored!;
      const { c, keys } = clients[s.client]!;
      const start = now();
      try {
        const got = await readBack(c, s.dealId, keys);
        if (got !== s.sha) failures.push(`${s.what}, deal ${s.dealId}: read back other bytes`);
        else gets.push({ cls: p.cls, bytes: p.bytes, start, end: now() });
      } catch (e) {
        failures.push(`get of ${s.what}, deal ${s.dealId}: ${(e as Error).message}`);
      }
    },
  );
  const getEnd = now();
  const getSecs = getEnd - getStart;
  const getBytes = gets.reduce((a, g) => a + g.bytes, 0);

  emit(
    `load: puts stored (of ${PUTS}: ${counts.join("/")} × 1 KiB/64 KiB/1 MiB/8 MiB/64 MiB, ${CLIENTS} clients at once, k = ${K}, n = ${N})`,
    puts.length,
    "puts",
  );
  emit("load: put rate, all clients together", puts.length / putSecs, "puts/s");
  emit("load: put rate, all clients together (plaintext)", putBytes / MB / putSecs, "MB/s");
  emit(
    "load: get rate, every file read back at once by the owners",
    gets.length / getSecs,
    "gets/s",
  );
  emit("load: get rate (plaintext, SHA-256 compared)", getBytes / MB / getSecs, "MB/s");
  for (const [op, list] of [
    ["put", puts],
    ["get", gets],
  ] as const)
    CLASSES.forEach((cl, i) => {
      const secs = list.filter((x) => x.cls === i).map((x) => x.end - x.start);
      if (secs.length === 0) return;
      emit(
        `load: ${op} latency p50, ${cl.label} (${secs.length} files)`,
        percentile(secs, 50),
        "s",
      );
      emit(
        `load: ${op} latency p99, ${cl.label} (${secs.length} files)`,
        percentile(secs, 99),
        "s",
      );
    });
  emit("load: errors (failed puts, failed or wrong gets)", failures.length, "");
  const loadRss = rss.filter((r) => r.t <= getEnd);
  co.setups.forEach((_, i) => {
    const mine = loadRss.filter((r) => r.i === i);
    emit(`load: provider ${i + 1} peak RSS`, Math.max(...mine.map((r) => r.bytes)) / MB, "MB");
    emit(`load: provider ${i + 1} RSS at the end of the load`, mine.at(-1)!.bytes / MB, "MB");
  });

  // The plot: latency by completion time, MB/s per 10 s window, provider RSS.
  const rel = (t: number) => t - loadStart;
  const latency: Series[] = CLASSES.flatMap((cl, i) => [
    {
      label: `put ${cl.label}`,
      color: COLORS[i]!,
      kind: "points" as const,
      data: puts
        .filter((p) => p.cls === i)
        .map((p) => [rel(p.end), p.end - p.start] as [number, number]),
    },
    {
      label: `get ${cl.label}`,
      color: COLORS[i]!,
      kind: "points" as const,
      marker: "cross" as const,
      data: gets
        .filter((g) => g.cls === i)
        .map((g) => [rel(g.end), g.end - g.start] as [number, number]),
    },
  ]).filter((s) => s.data.length > 0);
  const windows = (list: Timed[]) => {
    const out: [number, number][] = [];
    for (let w = 0; w < rel(getEnd); w += 10) {
      const bytes = list
        .filter((x) => rel(x.end) >= w && rel(x.end) < w + 10)
        .reduce((a, x) => a + x.bytes, 0);
      out.push([w, bytes / MB / 10]);
    }
    return out;
  };
  writeFileSync(
    svgPath,
    renderPlot({
      title: `Load run: ${puts.length} puts from ${CLIENTS} clients, then every file read back (k = ${K}, n = ${N}, four providers, one 2-core machine)`,
      xLabel: "seconds since the first put",
      spans: [
        { from: 0, to: rel(loadEnd), label: "puts" },
        { from: rel(getStart), to: rel(getEnd), label: "gets" },
      ],
      panels: [
        {
          title: "Latency of each put and get, at its completion",
          yLabel: "seconds (log)",
          log: true,
          series: latency,
        },
        {
          title: "Throughput: plaintext completed per 10 s window",
          yLabel: "MB/s",
          series: [
            { label: "put", color: "#1f78b4", kind: "bars", width: 10, data: windows(puts) },
            { label: "get", color: "#ff7f00", kind: "bars", width: 10, data: windows(gets) },
          ],
        },
        {
          title: "Provider RSS (VmRSS, sampled every second)",
          yLabel: "MB",
          series: co.setups.map((_, i) => ({
            label: `provider ${i + 1}`,
            color: COLORS[i]!,
            kind: "line" as const,
            data: loadRss
              .filter((r) => r.i === i && r.t >= loadStart)
              .map((r) => [rel(r.t), r.bytes / MB] as [number, number]),
          })),
        },
      ],
    }),
  );
  log(`plot written to ${svgPath}`);

  // ───────────── 2. soak ─────────────
  /** Record files already found accepted and active on-chain (key: provider, file, content). */
  const verifiedRecords = new Set<string>();
  /** Every "accepted" record in every data folder matches an Active shard of its provider. */
  async function checkRecords(where: string): Promise<{ accepted: number; unfinished: number }> {
    let accepted = 0;
    let unfinished = 0;
    for (const [i, s] of co.setups.entries()) {
      const dir = join(s.dataDir, "shards");
      for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        let text: string;
        try {
          text = readFileSync(join(dir, f), "utf8");
        } catch {
          continue; // dropped meanwhile
        }
        const rec = JSON.parse(text) as { dealId: string; shard: number; state: string };
        if (rec.state !== "accepted") {
          unfinished++;
          continue;
        }
        accepted++;
        const key = `${i}/${f}/${text}`;
        if (verifiedRecords.has(key)) continue;
        const on = await reader.market.read.getShard([BigInt(rec.dealId), BigInt(rec.shard)]);
        if (on.status !== 1 || !isAddressEqual(on.provider, s.address))
          halfWritten.push(
            `${where}: provider ${i + 1} has shard ${rec.shard} of deal ${rec.dealId} as accepted; on-chain it is status ${on.status} with ${on.provider}`,
          );
        else verifiedRecords.add(key);
      }
    }
    return { accepted, unfinished };
  }

  /** Every Active shard of a deal comes whole from its holder, with the committed root. */
  async function verifyShards(s: Stored, where: string): Promise<number> {
    let verified = 0;
    for (const sh of s.shards) {
      const on = await reader.market.read.getShard([s.dealId, BigInt(sh.index)]);
      if (on.status !== 1) {
        halfWritten.push(
          `${where}: shard ${sh.index} of deal ${s.dealId} is not active (status ${on.status}) after the put reported it stored`,
        );
        continue;
      }
      const { endpoint } = await reader.market.read.getProvider([on.provider]);
      const tree = new SegmentTreeBuilder();
      let bytes = 0;
      try {
        for await (const piece of fetchShard(endpoint, sh.cid, { shardIndex: sh.index })) {
          tree.update(piece);
          bytes += piece.length;
        }
        const root = bytesToHex(tree.finish().root);
        if (root !== sh.root.toLowerCase())
          halfWritten.push(
            `${where}: shard ${sh.index} of deal ${s.dealId} at ${endpoint} has root ${root}, the deal says ${sh.root} (${bytes} bytes)`,
          );
        else verified++;
      } catch (e) {
        halfWritten.push(
          `${where}: shard ${sh.index} of deal ${s.dealId} at ${endpoint} does not verify: ${(e as Error).message}`,
        );
      }
    }
    return verified;
  }

  const phases = {
    "before the provider took the upload (or after it)": 0,
    receiving: 0,
    "importing into the blockstore": 0,
    "imported, acceptShard sent or about to be": 0,
    "after acceptance": 0,
  };
  const restartSecs: number[] = [];
  const trialSecs: number[] = [];
  const uploadMs: number[] = []; // first byte → accepted, of shards not killed: the kill window
  let resumed = 0;
  let retried = 0;
  const notStored: string[] = [];
  let unfinishedLeft = 0;
  log(`soak: ${TRIALS} trials of kill -9 during an upload`);
  for (let trial = 1; trial <= TRIALS; trial++) {
    const started = now();
    const w = trial % CLIENTS;
    const { c, keys } = clients[w]!;
    const size = MiB + Math.floor(rand() * 7 * MiB);
    const data = randomData(size);
    const sha = sha256(data);
    const victim = Math.floor(rand() * co.setups.length);
    const victimAddr = co.setups[victim]!.address;
    const window =
      uploadMs.length > 0
        ? uploadMs.slice(-20).reduce((a, b) => a + b, 0) / Math.min(20, uploadMs.length)
        : 3000;
    const killAfter = rand() * window;
    const what = `soak trial ${trial} (${(size / MiB).toFixed(2)} MiB, client ${w}, kill provider ${victim + 1} ${killAfter.toFixed(0)} ms into its upload)`;
    const staging = createFolderStaging(join(work, `soak-${trial}`));
    const firstByte = new Map<number, number>();
    let dealId: bigint | undefined;
    let victimShard = -1;
    let kill: Promise<void> | undefined;
    const killNow = async () => {
      const node = co.nodes[victim]!;
      // Where the provider is with the shard, from its data folder, just before the kill.
      const dataDir = co.setups[victim]!.dataDir;
      let state: string | undefined;
      try {
        const f = join(dataDir, "shards", `${dealId}-${victimShard}.json`);
        state = (JSON.parse(readFileSync(f, "utf8")) as { state: string }).state;
      } catch {
        state = undefined;
      }
      const receiving = readdirSync(join(dataDir, "tmp")).length > 0;
      const phase: keyof typeof phases =
        state === "accepted"
          ? "after acceptance"
          : state === "imported"
            ? "imported, acceptShard sent or about to be"
            : state === "importing"
              ? "importing into the blockstore"
              : receiving
                ? "receiving"
                : "before the provider took the upload (or after it)";
      phases[phase]++;
      killing.add(node.proc.pid!);
      await node.stop("SIGKILL");
      const r0 = performance.now();
      await co.restart(victim);
      restartSecs.push((performance.now() - r0) / 1000);
      watch(victim);
      log(`${what}: killed ${phase}, back in ${restartSecs.at(-1)!.toFixed(1)} s`);
    };
    const onProgress = (p: PutProgress) => {
      const t = performance.now();
      if (p.stage === "deal-created") dealId = p.dealId;
      if (p.stage === "upload") {
        if (!firstByte.has(p.shard)) firstByte.set(p.shard, t);
        if (isAddressEqual(p.provider, victimAddr)) {
          victimShard = p.shard;
          if (!kill) {
            kill = new Promise((r) => setTimeout(r, killAfter)).then(killNow);
            kill.catch(() => undefined); // awaited below; a failed restart fails the bench there
          }
        }
      }
      if (
        p.stage === "accepted" &&
        !isAddressEqual(p.provider, victimAddr) &&
        firstByte.has(p.shard)
      )
        uploadMs.push(t - firstByte.get(p.shard)!);
    };
    let result: PutResult | undefined;
    const putOptions = () => ({
      name: `soak-${trial}.bin`,
      size,
      k: K,
      n: N,
      durationEpochs: DURATION,
      keys,
      staging,
      signal: AbortSignal.timeout(OP_TIMEOUT),
    });
    try {
      result = await putFile(c, data, { ...putOptions(), onProgress });
    } catch (e) {
      log(`${what}: put failed (${(e as Error).message}); resuming`);
      await kill;
      const journal = await staging.loadJournal();
      try {
        if (journal) {
          resumed++;
          result = await resumePut(c, journal, staging, keys, {
            signal: AbortSignal.timeout(OP_TIMEOUT),
          });
        } else {
          retried++;
          result = await putFile(c, data, putOptions());
        }
      } catch (e2) {
        notStored.push(`${what}: ${(e2 as Error).message}`);
      }
    }
    if (!kill) log(`${what}: no upload to provider ${victim + 1} was seen: no kill`);
    await kill;
    if (result) {
      const s: Stored = { what, client: w, dealId: result.dealId, sha, shards: result.shards };
      stored.push(s);
      await verifyShards(s, what);
      try {
        if ((await readBack(c, s.dealId, keys)) !== sha)
          lost.push(`${what}: deal ${s.dealId} read back other bytes`);
      } catch (e) {
        lost.push(`${what}: deal ${s.dealId} cannot be read: ${(e as Error).message}`);
      }
    }
    unfinishedLeft = (await checkRecords(what)).unfinished;
    trialSecs.push(now() - started);
    if (trial % 5 === 0 || trial === TRIALS)
      log(
        `soak: ${trial}/${TRIALS} trials, ${halfWritten.length} half-written accepted, ${lost.length} lost`,
      );
  }

  // ───────────── the end: every shard and every file of the run, once more ─────────────
  log(`final check: ${stored.length} files, ${stored.length * N} shards`);
  const records = await checkRecords("final check");
  let shardsVerified = 0;
  for (const s of stored) shardsVerified += await verifyShards(s, `final check of ${s.what}`);
  await pool(stored, 4, async (s) => {
    const { c, keys } = clients[s.client]!;
    try {
      if ((await readBack(c, s.dealId, keys)) !== s.sha)
        lost.push(`final read of ${s.what}: deal ${s.dealId} read back other bytes`);
    } catch (e) {
      lost.push(
        `final read of ${s.what}: deal ${s.dealId} cannot be read: ${(e as Error).message}`,
      );
    }
  });

  emit(
    "soak: trials (a 1–8 MiB put, one provider killed with SIGKILL during its upload, restarted)",
    TRIALS,
    "",
  );
  for (const [phase, n] of Object.entries(phases)) emit(`soak: kills: ${phase}`, n, "");
  emit("soak: half-written shards accepted", halfWritten.length, "");
  emit("soak: files lost (of every file stored in the run, load and soak)", lost.length, "");
  emit("soak: puts that failed after the kill and were resumed from their journal", resumed, "");
  emit("soak: puts that failed before their journal and were put again", retried, "");
  emit("soak: puts not stored even after resuming", notStored.length, "");
  emit("soak: provider exits the bench did not cause", unexpectedExits.length, "");
  emit("soak: shard records left unfinished after the last trial", unfinishedLeft, "");
  emit("soak: accepted shard records checked against the chain at the end", records.accepted, "");
  emit(
    "soak: shards fetched and verified against their committed root at the end",
    shardsVerified,
    "",
  );
  if (restartSecs.length)
    emit("soak: provider restart, median (kill to ready)", percentile(restartSecs, 50), "s");
  emit("soak: trial time, median (put, kill, restart, checks)", percentile(trialSecs, 50), "s");
  co.setups.forEach((_, i) => {
    const mine = rss.filter((r) => r.i === i && r.t > getEnd);
    if (!mine.length) return;
    emit(`soak: provider ${i + 1} peak RSS`, Math.max(...mine.map((r) => r.bytes)) / MB, "MB");
    emit(`soak: provider ${i + 1} RSS at the end`, mine.at(-1)!.bytes / MB, "MB");
  });
  // Blocks beyond the accepted shards' bytes (dag-pb nodes and manifests are a few KB): what
  // interrupted imports may have left pinned.
  co.setups.forEach((st, i) => {
    const dir = join(st.dataDir, "shards");
    let held = 0;
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      const rec = JSON.parse(readFileSync(join(dir, f), "utf8")) as { size: number; state: string };
      if (rec.state === "accepted") held += rec.size;
    }
    emit(
      `soak: provider ${i + 1} blockstore bytes beyond its accepted shards' bytes`,
      (folderBytes(join(st.dataDir, "blocks")) - held) / MB,
      "MB",
    );
  });
  emit("load: machine load average (1 min) as the bench ended (2 cores)", loadAvg(), "");
  for (const s of notStored) log(`not stored: ${s}`);
} finally {
  clearInterval(sampler);
  stopping = true;
  await co.stop();
  for (const s of co.setups) rmSync(s.dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}

const problems = [
  ...failures.map((f) => `load error: ${f}`),
  ...halfWritten.map((f) => `half-written shard accepted: ${f}`),
  ...lost.map((f) => `file lost: ${f}`),
  ...unexpectedExits.map((f) => `provider crash: ${f}`),
];
if (problems.length) {
  console.error(`\n[load bench] FAILED: ${problems.length} problem(s):\n${problems.join("\n")}`);
  process.exit(1);
}
// Worker pools and keep-alive sockets may hold the loop open a while: done.
process.exit(0);
